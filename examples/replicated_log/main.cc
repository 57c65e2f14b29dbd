// examples/replicated_log/main.cc — segstore-raft: one server of a replicated key-value store
// and log. raft (canonical raft 0.15) orders the commands; segstore holds each server's raft
// log, term, vote and snapshots (libsegstore-raft). Clients speak a line protocol over TCP:
//   PUT <key> <value>   -> OK <index>             (leader only; else ERR NOTLEADER <leader id>)
//   APPEND <value>      -> OK <index>             (leader only)
//   GET <key>           -> VALUE <value> | NOTFOUND   (this server's applied state)
//   LOG                 -> LOG <n> <value>...     (the appended values, in order)
//   STATUS              -> STATUS id=.. state=.. term=.. leader=.. last_index=.. stored=.. applied=..
// --storage uv runs the same server on raft_uv's stock storage (for comparisons).
// Usage: segstore-raft --id 1 --dir data/1 --listen 127.0.0.1:7001
//                      --peers 1=127.0.0.1:9001,2=127.0.0.1:9002,3=127.0.0.1:9003
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <uv.h>

#include "raft/segstore_raft.h"  // raft.h with C linkage
extern "C" {  // raft/uv.h declares its functions without C linkage for C++
#include <raft/uv.h>
}
#include "state_machine.h"

namespace replicated_log {
namespace {

struct Args {
  raft_id id = 0;
  std::string dir;
  std::string listen;
  std::map<raft_id, std::string> peers;
  unsigned election_ms = 1000;
  unsigned snapshot_threshold = 1024;
  std::uint64_t segment_bytes = 0;  // 0: segstore's default
  bool stock_storage = false;       // --storage uv: raft_uv's own storage, for comparisons
};

bool parse_args(int argc, char **argv, Args *out) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--id") {
      out->id = std::stoull(value);
    } else if (flag == "--dir") {
      out->dir = value;
    } else if (flag == "--listen") {
      out->listen = value;
    } else if (flag == "--election-ms") {
      out->election_ms = static_cast<unsigned>(std::stoul(value));
    } else if (flag == "--snapshot-threshold") {
      out->snapshot_threshold = static_cast<unsigned>(std::stoul(value));
    } else if (flag == "--storage") {
      if (value != "segstore" && value != "uv") return false;
      out->stock_storage = value == "uv";
    } else if (flag == "--segment-bytes") {
      out->segment_bytes = std::stoull(value);
    } else if (flag == "--peers") {
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) {
        const auto eq = item.find('=');
        if (eq == std::string::npos) return false;
        out->peers[std::stoull(item.substr(0, eq))] = item.substr(eq + 1);
      }
    } else {
      return false;
    }
  }
  return out->id != 0 && !out->dir.empty() && !out->listen.empty() && out->peers.count(out->id) == 1;
}

bool split_host_port(const std::string &address, std::string *host, int *port) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  *port = std::stoi(address.substr(colon + 1));
  return true;
}

struct Server;

// One client connection. Freed once closed and no command of it waits for raft.
struct Client {
  uv_tcp_t handle{};
  Server *server = nullptr;
  std::string input;
  int pending = 0;
  bool closed = false;
};

struct Server {
  Args args;
  uv_loop_t *loop = nullptr;
  raft_io io{};
  raft_uv_transport transport{};  // --storage uv only
  raft r{};
  StateMachine machine;
  uv_tcp_t listener{};
  uv_signal_t sigterm{}, sigint{};
  std::set<Client *> clients;
  bool stopping = false;
};

void free_if_done(Client *client) {
  if (!client->closed || client->pending != 0 || client->handle.data != nullptr) return;
  client->server->clients.erase(client);
  delete client;
}

void reply(Client *client, const std::string &line) {
  if (client->closed) return;
  struct Write {
    uv_write_t req;
    std::string text;
  };
  auto *write = new Write{{}, line + "\n"};
  uv_buf_t buf = uv_buf_init(write->text.data(), static_cast<unsigned>(write->text.size()));
  write->req.data = write;
  if (uv_write(&write->req, reinterpret_cast<uv_stream_t *>(&client->handle), &buf, 1,
               [](uv_write_t *req, int) { delete static_cast<Write *>(req->data); }) != 0)
    delete write;
}

struct Apply {
  struct raft_apply req{};
  Client *client = nullptr;
};

void on_applied(struct raft_apply *req, int status, void *) {
  auto *apply = static_cast<Apply *>(req->data);
  Client *client = apply->client;
  client->pending--;
  if (status == 0) {
    // The entry is committed and applied; raft set its index when it was appended.
    reply(client, "OK " + std::to_string(req->index));
  } else {
    reply(client, std::string("ERR ") + raft_strerror(status));
  }
  free_if_done(client);
  delete apply;
}

void submit(Client *client, const std::string &command) {
  Server &server = *client->server;
  if (raft_state(&server.r) != RAFT_LEADER) {
    raft_id leader_id = 0;
    const char *leader_address = nullptr;
    raft_leader(&server.r, &leader_id, &leader_address);
    reply(client, "ERR NOTLEADER " + std::to_string(leader_id));
    return;
  }
  raft_buffer buf{raft_malloc(command.size()), command.size()};
  std::memcpy(buf.base, command.data(), command.size());
  auto *apply = new Apply;
  apply->req.data = apply;
  apply->client = client;
  const int rv = raft_apply(&server.r, &apply->req, &buf, 1, on_applied);
  if (rv != 0) {
    raft_free(buf.base);
    delete apply;
    reply(client, std::string("ERR ") + raft_strerror(rv));
    return;
  }
  client->pending++;
}

const char *state_name(int state) {
  switch (state) {
    case RAFT_FOLLOWER: return "follower";
    case RAFT_CANDIDATE: return "candidate";
    case RAFT_LEADER: return "leader";
    default: return "unavailable";
  }
}

void handle_line(Client *client, const std::string &line) {
  Server &server = *client->server;
  std::istringstream words(line);
  std::string verb;
  words >> verb;
  if (verb == "PUT") {
    std::string key, value;
    words >> key;
    std::getline(words >> std::ws, value);
    if (key.empty()) return reply(client, "ERR usage: PUT <key> <value>");
    submit(client, encode_put(key, value));
  } else if (verb == "APPEND") {
    std::string value;
    std::getline(words >> std::ws, value);
    submit(client, encode_append(value));
  } else if (verb == "GET") {
    std::string key;
    words >> key;
    auto it = server.machine.values().find(key);
    reply(client, it == server.machine.values().end() ? "NOTFOUND" : "VALUE " + it->second);
  } else if (verb == "LOG") {
    std::string out = "LOG " + std::to_string(server.machine.appended().size());
    for (const std::string &value : server.machine.appended()) out += " " + value;
    reply(client, out);
  } else if (verb == "STATUS") {
    raft_id leader_id = 0;
    const char *leader_address = nullptr;
    raft_leader(&server.r, &leader_id, &leader_address);
    reply(client, "STATUS id=" + std::to_string(server.args.id) + " state=" + state_name(raft_state(&server.r)) +
                      " term=" + std::to_string(server.r.current_term) + " leader=" + std::to_string(leader_id) +
                      " last_index=" + std::to_string(raft_last_index(&server.r)) +
                      " stored=" + std::to_string(server.r.last_stored) +
                      " applied=" + std::to_string(raft_last_applied(&server.r)));
  } else {
    reply(client, "ERR unknown command '" + verb + "' (PUT, APPEND, GET, LOG, STATUS)");
  }
}

// The handle's data is cleared once libuv is done with it: only then may the client go.
void close_client(Client *client) {
  if (client->closed) return;
  client->closed = true;
  uv_close(reinterpret_cast<uv_handle_t *>(&client->handle), [](uv_handle_t *handle) {
    auto *c = static_cast<Client *>(handle->data);
    handle->data = nullptr;
    free_if_done(c);
  });
}

void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  auto *client = static_cast<Client *>(stream->data);
  if (nread < 0) {
    delete[] buf->base;
    close_client(client);
    return;
  }
  client->input.append(buf->base, static_cast<std::size_t>(nread));
  delete[] buf->base;
  std::size_t newline;
  while ((newline = client->input.find('\n')) != std::string::npos) {
    std::string line = client->input.substr(0, newline);
    client->input.erase(0, newline + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) handle_line(client, line);
  }
}

void on_connection(uv_stream_t *listener, int status) {
  if (status != 0) return;
  auto *server = static_cast<Server *>(listener->data);
  auto *client = new Client;
  client->server = server;
  server->clients.insert(client);
  uv_tcp_init(server->loop, &client->handle);
  client->handle.data = client;
  if (uv_accept(listener, reinterpret_cast<uv_stream_t *>(&client->handle)) != 0) {
    close_client(client);
    return;
  }
  uv_read_start(
      reinterpret_cast<uv_stream_t *>(&client->handle),
      [](uv_handle_t *, std::size_t suggested, uv_buf_t *buf) { *buf = uv_buf_init(new char[suggested], static_cast<unsigned>(suggested)); },
      on_read);
}

void on_raft_closed(raft *r) {
  auto *server = static_cast<Server *>(r->data);
  uv_close(reinterpret_cast<uv_handle_t *>(&server->listener), nullptr);
  uv_close(reinterpret_cast<uv_handle_t *>(&server->sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t *>(&server->sigint), nullptr);
  const std::set<Client *> open(server->clients);
  for (Client *client : open) close_client(client);
}

void on_signal(uv_signal_t *handle, int) {
  auto *server = static_cast<Server *>(handle->data);
  if (server->stopping) return;
  server->stopping = true;
  raft_close(&server->r, on_raft_closed);
}

int run(Server &server) {
  const Args &args = server.args;
  segstore_raft_options options{};
  options.segment_bytes = args.segment_bytes;
  int rv;
  if (args.stock_storage) {
    std::error_code ignored;
    std::filesystem::create_directories(args.dir, ignored);  // raft_uv wants it to exist
    rv = raft_uv_tcp_init(&server.transport, server.loop);
    if (rv == 0) rv = raft_uv_init(&server.io, server.loop, args.dir.c_str(), &server.transport);
  } else {
    rv = segstore_raft_io_init(&server.io, server.loop, args.dir.c_str(), &options);
  }
  if (rv != 0) {
    std::fprintf(stderr, "segstore-raft: io: %s\n", raft_strerror(rv));
    return 1;
  }
  rv = raft_init(&server.r, &server.io, server.machine.fsm(), args.id, args.peers.at(args.id).c_str());
  if (rv != 0) {
    std::fprintf(stderr, "segstore-raft: raft_init: %s\n", server.io.errmsg);
    return 1;
  }
  server.r.data = &server;
  raft_set_election_timeout(&server.r, args.election_ms);
  raft_set_heartbeat_timeout(&server.r, std::max(10u, args.election_ms / 10));
  raft_set_pre_vote(&server.r, true);  // a rejoining server does not depose a working leader
  raft_set_snapshot_threshold(&server.r, args.snapshot_threshold);
  raft_set_snapshot_trailing(&server.r, args.snapshot_threshold / 4 + 1);
  raft_configuration configuration;
  raft_configuration_init(&configuration);
  for (const auto &[id, address] : args.peers) raft_configuration_add(&configuration, id, address.c_str(), RAFT_VOTER);
  rv = raft_bootstrap(&server.r, &configuration);  // RAFT_CANTBOOTSTRAP: this server has state already
  raft_configuration_close(&configuration);
  if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
    std::fprintf(stderr, "segstore-raft: bootstrap: %s\n", raft_errmsg(&server.r));
    return 1;
  }
  rv = raft_start(&server.r);
  if (rv != 0) {
    std::fprintf(stderr, "segstore-raft: raft_start: %s\n", raft_errmsg(&server.r));
    return 1;
  }
  std::string host;
  int port = 0;
  sockaddr_in addr{};
  if (!split_host_port(args.listen, &host, &port) || uv_ip4_addr(host.c_str(), port, &addr) != 0) {
    std::fprintf(stderr, "segstore-raft: --listen %s is not host:port\n", args.listen.c_str());
    return 1;
  }
  uv_tcp_init(server.loop, &server.listener);
  server.listener.data = &server;
  rv = uv_tcp_bind(&server.listener, reinterpret_cast<const sockaddr *>(&addr), 0);
  if (rv == 0) rv = uv_listen(reinterpret_cast<uv_stream_t *>(&server.listener), 64, on_connection);
  if (rv != 0) {
    std::fprintf(stderr, "segstore-raft: listen on %s: %s\n", args.listen.c_str(), uv_strerror(rv));
    return 1;
  }
  uv_signal_init(server.loop, &server.sigterm);
  uv_signal_init(server.loop, &server.sigint);
  server.sigterm.data = server.sigint.data = &server;
  uv_signal_start(&server.sigterm, on_signal, SIGTERM);
  uv_signal_start(&server.sigint, on_signal, SIGINT);
  std::fprintf(stderr, "segstore-raft: server %llu: raft %s, clients %s, data %s\n", args.id,
               args.peers.at(args.id).c_str(), args.listen.c_str(), args.dir.c_str());
  uv_run(server.loop, UV_RUN_DEFAULT);
  if (args.stock_storage) {
    raft_uv_close(&server.io);
    raft_uv_tcp_close(&server.transport);
  } else {
    segstore_raft_io_close(&server.io);
  }
  return 0;
}

}  // namespace
}  // namespace replicated_log

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  auto server = std::make_unique<replicated_log::Server>();
  if (!replicated_log::parse_args(argc, argv, &server->args)) {
    std::fprintf(stderr,
                 "usage: segstore-raft --id N --dir DIR --listen HOST:PORT --peers 1=HOST:PORT,2=HOST:PORT,...\n"
                 "       [--election-ms MS] [--snapshot-threshold ENTRIES] [--segment-bytes BYTES]\n"
                 "       [--storage segstore|uv]   (uv: raft_uv's stock storage, for comparisons)\n");
    return 2;
  }
  server->loop = uv_default_loop();
  const int rc = replicated_log::run(*server);
  uv_loop_close(server->loop);
  return rc;
}
