#include "app/app.h"

int main(int argc, char** argv) { return citadel::app::runMain(argc, argv); }
