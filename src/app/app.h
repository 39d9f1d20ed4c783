#pragma once
/// The citadel command line: `citadel serve ...` and `citadel admin ...`.

namespace citadel::app {

/// Runs the command line; returns the process exit code.
int runMain(int argc, char** argv);

}  // namespace citadel::app
