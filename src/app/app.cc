#include "app/app.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "app/admin_event.h"
#include "app/config.h"
#include "app/dev_endpoints.h"
#include "app/init_scripts.h"
#include "app/seed.h"
#include "audit/audit.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/time.h"
#include "crypto/barrier.h"
#include "http/server.h"
#include "protocol/model.h"
#include "runtime/pipeline.h"
#include "runtime/services.h"
#include "store/store.h"

namespace citadel::app {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kVersion = "0.1.0";

void usage() {
  std::fprintf(stderr,
               "usage:\n"
               "  citadel serve [--listen HOST:PORT] [--data-dir DIR] [--config FILE]\n"
               "                [--tls-cert FILE --tls-key FILE] [--threads N] [--region R]\n"
               "                [--dev] [--allow-reset] [--allow-time-travel] [--seed FILE]\n"
               "                [--init-dir DIR] [--init-timeout SECONDS]\n"
               "                [--encode-authorization-messages SERVICE[,SERVICE...]|all]\n"
               "  citadel admin create-account --data-dir DIR [--account-id ID] [--default]\n"
               "  citadel admin create-root-key --data-dir DIR --account-id ID\n"
               "  citadel admin list-accounts --data-dir DIR\n"
               "  citadel version\n");
}

void raiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/// Everything that lives as long as the data directory is open.
struct Runtime {
  std::unique_ptr<crypto::Barrier> barrier;
  std::unique_ptr<store::Store> db;
  std::unique_ptr<runtime::Identity> identity;
  std::unique_ptr<audit::EventStore> events;
  std::unique_ptr<runtime::Services> services;
};

std::unique_ptr<Runtime> openDataDir(const std::string& dir, const std::string& region,
                                     const Config* cfg = nullptr) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create data dir " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  auto rt = std::make_unique<Runtime>();
  rt->barrier = crypto::Barrier::loadOrCreate((fs::path(dir) / "root.key").string());
  rt->db = store::openSqlite((fs::path(dir) / "citadel.db").string());
  rt->identity = std::make_unique<runtime::Identity>(*rt->db, *rt->barrier);
  rt->events = std::make_unique<audit::EventStore>(*rt->db);
  runtime::RuntimeConfig rc;
  rc.default_region = region;
  rc.version = kVersion;
  if (cfg) {
    rc.source_vpc_header = cfg->source_vpc_header;
    rc.source_vpce_header = cfg->source_vpce_header;
    for (const auto& [id, c] : cfg->cloudhsm_clusters)
      rc.cloudhsm_clusters[id] = {c.module, c.token_label};
    rc.encode_authorization_messages = cfg->encode_authorization_messages;
  }
  rt->services = std::make_unique<runtime::Services>(*rt->db, *rt->barrier, *rt->events,
                                                     *rt->identity, rc);
  rt->db->migrate(rt->services->migrations());
  return rt;
}

struct Bootstrap {
  std::string account_id;
  runtime::KeyPair root;
};

/// Ensures the default account and a root key exist, as configuration asks.
Bootstrap bootstrap(Runtime& rt, const Config& cfg) {
  auto tx = rt.db->begin(true);
  Bootstrap b;
  auto& id = *rt.identity;
  if (cfg.account_id) {
    if (!runtime::Identity::validAccountId(*cfg.account_id))
      throw std::runtime_error("account id must be 12 digits: " + *cfg.account_id);
    b.account_id = *cfg.account_id;
    if (!id.accountExists(*tx, b.account_id)) {
      auto r = id.createAccount(*tx, b.account_id, true);
      if (!r.ok()) throw std::runtime_error(r.error().message);
      rt.events->append(*tx, adminEvent("CreateAccount", b.account_id, cfg.region,
                                        json::object{{"accountId", b.account_id}}));
    }
  } else if (auto def = id.defaultAccount(*tx)) {
    b.account_id = *def;
  } else {
    auto r = id.createAccount(*tx, std::nullopt, true);
    if (!r.ok()) throw std::runtime_error(r.error().message);
    b.account_id = *r;
    rt.events->append(*tx, adminEvent("CreateAccount", b.account_id, cfg.region,
                                      json::object{{"accountId", b.account_id}}));
  }
  if (cfg.root_access_key_id || cfg.root_secret_access_key) {
    if (!cfg.root_access_key_id || !cfg.root_secret_access_key)
      throw std::runtime_error(
          "CITADEL_ROOT_ACCESS_KEY_ID and CITADEL_ROOT_SECRET_ACCESS_KEY must be set together");
    b.root = {*cfg.root_access_key_id, *cfg.root_secret_access_key};
    auto r = id.putRootKey(*tx, b.account_id, b.root);
    if (!r.ok()) throw std::runtime_error(r.error().message);
    rt.events->append(*tx, adminEvent("PutRootAccessKey", b.account_id, cfg.region,
                                      json::object{{"accessKeyId", b.root.access_key_id}}));
  } else {
    auto keys = id.rootKeys(*tx, b.account_id);
    if (!keys.empty()) {
      b.root = keys.front();
    } else {
      auto r = id.createRootKey(*tx, b.account_id);
      if (!r.ok()) throw std::runtime_error(r.error().message);
      b.root = *r;
      rt.events->append(*tx, adminEvent("CreateRootAccessKey", b.account_id, cfg.region,
                                        json::object{{"accessKeyId", b.root.access_key_id}}));
    }
  }
  tx->commit();
  return b;
}

std::string healthJson(const runtime::Services& svc, std::chrono::steady_clock::time_point start,
                       const InitScripts& init, bool dev) {
  json::object o;
  // A failed or timed-out init script leaves the server serving, but says so here.
  o["status"] = init.anyFailed() ? "degraded" : "ok";
  o["version"] = kVersion;
  o["uptime_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  json::array services;
  for (const auto& s : svc.all()) services.push_back(json::string(s.model));
  o["services"] = std::move(services);
  o["models_embedded"] = protocol::Models::names().size();
  o["models_loaded"] = protocol::Models::loadedCount();
  o["audit_events_written"] = svc.events.written();
  o["dev_mode"] = dev;
  o["init"] = init.statusJson();
  o["init_failed"] = init.anyFailed();
  return json::serialize(o);
}

int serve(int argc, char** argv) {
  Config cfg;
  std::string config_file;
  // First pass: find --config (the file is applied before the other flags).
  for (int i = 0; i < argc; ++i)
    if (std::string(argv[i]) == "--config" && i + 1 < argc) config_file = argv[i + 1];
  if (!config_file.empty()) loadConfigFile(config_file, cfg);
  applyEnvironment(cfg);
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--listen") cfg.listen = next();
    else if (a == "--data-dir") cfg.data_dir = next();
    else if (a == "--config") next();
    else if (a == "--tls-cert") cfg.tls_cert = next();
    else if (a == "--tls-key") cfg.tls_key = next();
    else if (a == "--threads") cfg.threads = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--region") cfg.region = next();
    else if (a == "--log-level") cfg.log_level = next();
    else if (a == "--dev") cfg.dev = true;
    else if (a == "--allow-reset") cfg.allow_reset = true;
    else if (a == "--allow-time-travel") cfg.allow_time_travel = true;
    else if (a == "--seed") cfg.seed_file = next();
    else if (a == "--init-dir") cfg.init_dir = next();
    else if (a == "--encode-authorization-messages")
      cfg.encode_authorization_messages = parseServiceList(next(), a);
    else if (a == "--init-timeout") {
      std::string t = next();
      char* end = nullptr;
      long secs = std::strtol(t.c_str(), &end, 10);
      if (t.empty() || *end || secs <= 0)
        throw std::runtime_error("--init-timeout wants a positive number of seconds, got " + t);
      cfg.init_timeout_seconds = static_cast<unsigned>(secs);
    }
    else throw std::runtime_error("unknown option " + a);
  }
  if (cfg.log_level == "debug") log::setLevel(log::Level::kDebug);
  else if (cfg.log_level == "warn") log::setLevel(log::Level::kWarn);
  else if (cfg.log_level == "error") log::setLevel(log::Level::kError);
  if (cfg.tls_cert.empty() != cfg.tls_key.empty())
    throw std::runtime_error("--tls-cert and --tls-key go together");

  if (!cfg.init_dir.empty() && !std::filesystem::is_directory(cfg.init_dir))
    throw std::runtime_error("--init-dir " + cfg.init_dir + " is not a directory");
  // With init scripts, SIGTERM/SIGINT are taken by a thread of ours (shutdown.d runs while the
  // server still answers, then the drain starts): block them before any thread exists.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  const bool own_signals = !cfg.init_dir.empty();
  if (own_signals) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto start = std::chrono::steady_clock::now();
  raiseFileLimit();
  auto rt = openDataDir(cfg.data_dir, cfg.region, &cfg);
  if (cfg.dev) {
    rt->identity->setDevMode(true);
    log::warn(
        "DEVELOPMENT CREDENTIALS MODE (--dev): unknown access key ids are accepted WITHOUT "
        "signature verification as the root user of an account; state reset and time travel "
        "are on. Never expose this server to anyone you do not trust.");
    std::fprintf(stderr,
                 "citadel: WARNING: --dev is on: any unknown access key id is accepted as an "
                 "account's root user without signature verification.\n");
  }
  rt->services->initServices();
  for (const auto& [svc, rates] : cfg.throttling) {
    if (!rt->services->service(svc)) throw std::runtime_error("config: throttling for unknown service " + svc);
    rt->services->throttle.enable(svc);
    for (const auto& [q, r] : rates) rt->services->throttle.setRate(svc, q, r);
  }
  Bootstrap boot = bootstrap(*rt, cfg);
  if (!cfg.seed_file.empty()) {
    auto doc = loadSeedFile(cfg.seed_file);
    if (!doc.ok()) throw std::runtime_error(doc.error().message);
    auto seeded = applySeed(*rt->services, *doc, boot.account_id, cfg.region);
    if (!seeded.ok()) throw std::runtime_error(seeded.error().message);
    log::info("seed applied", {{"file", cfg.seed_file},
                               {"accounts_created", std::to_string(seeded->accounts_created)},
                               {"users_created", std::to_string(seeded->users_created)},
                               {"access_keys", std::to_string(seeded->access_keys)}});
  }
  // AWS: CloudTrail event history keeps 90 days.
  rt->events->purgeOlderThan(Clock::now() - std::chrono::hours(24 * 90));
  // Jobs that fell due while the server was down run now, then as they come due.
  rt->services->scheduler.runDue();
  rt->services->scheduler.start();

  runtime::Pipeline pipeline(*rt->services);
  auto [host, port] = splitListen(cfg.listen);
  http::Options opts;
  opts.host = host;
  opts.port = port;
  opts.tls_cert_file = cfg.tls_cert;
  opts.tls_key_file = cfg.tls_key;
  opts.threads = cfg.threads;
  opts.limits = cfg.limits;
  http::Server* server_ptr = nullptr;
  InitScripts init(cfg.init_dir, std::chrono::seconds(cfg.init_timeout_seconds));
  DevEndpoints dev_endpoints(*rt->services,
                             DevSwitches{cfg.dev || cfg.allow_reset, cfg.dev || cfg.allow_time_travel},
                             kVersion, &init);
  pipeline.setInternal({[&](const HttpRequest& req, HttpResponse& resp) {
    if (req.path == "/_citadel/health" && (req.method == "GET" || req.method == "HEAD")) {
      resp.status = 200;
      resp.setHeader("Content-Type", "application/json");
      resp.body = healthJson(*rt->services, start, init, cfg.dev);
      return true;
    }
    if (dev_endpoints.handle(req, resp)) return true;
    if (req.path == "/metrics" && req.method == "GET") {
      std::string extra;
      if (server_ptr) {
        const auto& st = server_ptr->stats();
        extra += "# TYPE citadel_connections_open gauge\ncitadel_connections_open " +
                 std::to_string(st.connections_open.load()) + "\n";
        extra += "# TYPE citadel_connections_total counter\ncitadel_connections_total " +
                 std::to_string(st.connections_total.load()) + "\n";
        extra += "# TYPE citadel_http_timeouts_total counter\ncitadel_http_timeouts_total " +
                 std::to_string(st.timeouts.load()) + "\n";
        extra += "# TYPE citadel_http_rejected_too_large_total counter\n"
                 "citadel_http_rejected_too_large_total " +
                 std::to_string(st.rejected_too_large.load()) + "\n";
      }
      extra += "# TYPE citadel_audit_events_written_total counter\ncitadel_audit_events_written_total " +
               std::to_string(rt->events->written()) + "\n";
      resp.status = 200;
      resp.setHeader("Content-Type", "text/plain; version=0.0.4");
      resp.body = rt->services->metrics.render(extra);
      return true;
    }
    return false;
  }});
  auto server_owner = std::make_unique<http::Server>(
      opts, [&](HttpRequest& req, HttpResponse& resp) { pipeline.handle(req, resp); });
  http::Server& server = *server_owner;
  server_ptr = &server;

  // Retention purge, hourly.
  std::mutex purge_mu;
  std::condition_variable purge_cv;
  bool stopping = false;
  std::thread purger([&] {
    std::unique_lock lock(purge_mu);
    while (!purge_cv.wait_for(lock, std::chrono::hours(1), [&] { return stopping; })) {
      try {
        rt->events->purgeOlderThan(Clock::now() - std::chrono::hours(24 * 90));
      } catch (const std::exception& e) {
        log::error("retention purge failed", {{"error", e.what()}});
      }
    }
  });

  std::string scheme = server.tls() ? "https" : "http";
  std::string shown_host = host == "0.0.0.0" ? "127.0.0.1" : host;
  if (shown_host.find(':') != std::string::npos) shown_host = "[" + shown_host + "]";

  // Init scripts: boot.d now (the listener is bound, not yet answering), ready.d once health
  // answers 200, shutdown.d on SIGTERM/SIGINT before the drain.
  init.setEnvironment({{"AWS_ENDPOINT_URL", scheme + "://" + shown_host + ":" + std::to_string(server.port())},
                       {"AWS_ACCESS_KEY_ID", boot.root.access_key_id},
                       {"AWS_SECRET_ACCESS_KEY", boot.root.secret_access_key},
                       {"AWS_DEFAULT_REGION", cfg.region},
                       {"AWS_REGION", cfg.region},
                       {"CITADEL_ACCOUNT_ID", boot.account_id}});
  init.runStage("boot");
  std::thread ready_runner;
  std::atomic<bool> signal_thread_stop{false};
  std::thread signal_thread;
  if (own_signals) {
    signal_thread = std::thread([&] {
      timespec tick{0, 200'000'000};
      while (!signal_thread_stop) {
        int sig = sigtimedwait(&stop_signals, nullptr, &tick);
        if (sig != SIGTERM && sig != SIGINT) continue;
        log::info("stopping: running shutdown scripts", {{"signal", std::to_string(sig)}});
        init.runStage("shutdown");
        server.stop();
        return;
      }
    });
  }
  server.run([&] {
    std::printf("CITADEL_ENDPOINT=%s://%s:%u\n", scheme.c_str(), shown_host.c_str(), server.port());
    std::printf("CITADEL_ACCOUNT_ID=%s\n", boot.account_id.c_str());
    std::printf("AWS_ACCESS_KEY_ID=%s\n", boot.root.access_key_id.c_str());
    std::printf("AWS_SECRET_ACCESS_KEY=%s\n", boot.root.secret_access_key.c_str());
    std::printf("AWS_DEFAULT_REGION=%s\n", cfg.region.c_str());
    std::printf("CITADEL_READY=1\n");
    std::fflush(stdout);
    log::info("serving", {{"endpoint", scheme + "://" + shown_host + ":" + std::to_string(server.port())},
                          {"account", boot.account_id},
                          {"data_dir", cfg.data_dir},
                          {"version", kVersion}});
    if (init.hasScripts("ready")) ready_runner = std::thread([&] { init.runStage("ready"); });
  });
  signal_thread_stop = true;
  if (signal_thread.joinable()) signal_thread.join();
  if (ready_runner.joinable()) ready_runner.join();
  {
    std::lock_guard lock(purge_mu);
    stopping = true;
  }
  purge_cv.notify_all();
  purger.join();
  rt->services->scheduler.stop();
  server_ptr = nullptr;
  server_owner.reset();
  // The drain is under way: a repeated SIGTERM/SIGINT must not cut the final audit flush.
  std::signal(SIGTERM, SIG_IGN);
  std::signal(SIGINT, SIG_IGN);
  rt->events->flush();
  log::info("stopped");
  return 0;
}

int admin(int argc, char** argv) {
  if (argc < 1) {
    usage();
    return 2;
  }
  std::string cmd = argv[0];
  std::string data_dir = "./data", account, region = "us-east-1";
  bool make_default = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--data-dir") data_dir = next();
    else if (a == "--account-id") account = next();
    else if (a == "--region") region = next();
    else if (a == "--default") make_default = true;
    else throw std::runtime_error("unknown option " + a);
  }
  auto rt = openDataDir(data_dir, region);
  if (cmd == "create-account") {
    auto tx = rt->db->begin(true);
    bool first = !rt->identity->defaultAccount(*tx).has_value();
    auto id = rt->identity->createAccount(
        *tx, account.empty() ? std::nullopt : std::optional<std::string>(account),
        make_default || first);
    if (!id.ok()) throw std::runtime_error(id.error().message);
    auto key = rt->identity->createRootKey(*tx, *id);
    if (!key.ok()) throw std::runtime_error(key.error().message);
    rt->events->append(*tx, adminEvent("CreateAccount", *id, region, json::object{{"accountId", *id}}));
    rt->events->append(*tx, adminEvent("CreateRootAccessKey", *id, region,
                                       json::object{{"accessKeyId", key->access_key_id}}));
    tx->commit();
    std::printf("CITADEL_ACCOUNT_ID=%s\nAWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n",
                id->c_str(), key->access_key_id.c_str(), key->secret_access_key.c_str());
    return 0;
  }
  if (cmd == "create-root-key") {
    if (account.empty()) throw std::runtime_error("create-root-key needs --account-id");
    auto tx = rt->db->begin(true);
    auto key = rt->identity->createRootKey(*tx, account);
    if (!key.ok()) throw std::runtime_error(key.error().message);
    rt->events->append(*tx, adminEvent("CreateRootAccessKey", account, region,
                                       json::object{{"accessKeyId", key->access_key_id}}));
    tx->commit();
    std::printf("CITADEL_ACCOUNT_ID=%s\nAWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n",
                account.c_str(), key->access_key_id.c_str(), key->secret_access_key.c_str());
    return 0;
  }
  if (cmd == "list-accounts") {
    auto tx = rt->db->begin(false);
    for (const auto& r : tx->query("SELECT account_id, is_default FROM accounts ORDER BY created_ms"))
      std::printf("%s%s\n", r.text(0).c_str(), r.integer(1) ? " (default)" : "");
    return 0;
  }
  usage();
  return 2;
}

}  // namespace

int runMain(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  std::string cmd = argv[1];
  try {
    if (cmd == "serve") return serve(argc - 2, argv + 2);
    if (cmd == "admin") return admin(argc - 2, argv + 2);
    if (cmd == "version" || cmd == "--version") {
      std::printf("citadel %s\n", kVersion);
      return 0;
    }
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
    std::fprintf(stderr, "citadel: %s\n", e.what());
    return 1;
  }
  usage();
  return 2;
}

}  // namespace citadel::app
