#include "cli/transfer/chain_push.h"

#include <sys/random.h>

#include <charconv>
#include <chrono>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "cli/transfer/host_push.h"

namespace cluster::cli {
namespace {

using Clock = std::chrono::steady_clock;

// One host of the chain: its session and its HostPush, alive until it fails.
struct Member {
  const inventory::Host* host = nullptr;
  std::unique_ptr<Transport> transport;
  std::unique_ptr<HostPush> push;
  Status status;
  Clock::time_point start;
  bool alive() const { return status.ok() && push != nullptr; }
};

// 32 random bytes as hex: the one-time token of one hop of one file.
std::string NewToken() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

std::string AllowedUpstreams(const inventory::Inventory& inv) {
  std::string list;
  for (const auto& h : inv.hosts) list += (list.empty() ? "" : ",") + h.address;
  return list;
}

// Sends file `k` down the chain of the members that need it.
void RelayFile(size_t k, std::vector<Member*>& chain, const std::string& upstreams) {
  struct Hop {
    Member* m;
    std::uint64_t offset = 0;
    int port = 0;
    std::string token;
  };
  std::vector<Hop> hops;
  for (Member* m : chain) hops.push_back({m, m->push->ResumeOffset(m->push->tasks()[k])});
  std::uint64_t stream_offset = hops.front().offset;
  for (const auto& h : hops) stream_offset = std::min(stream_offset, h.offset);
  const auto& entry = *chain.front()->push->tasks()[k].entry;

  // From the last host back to the second: each listens, told who comes next.
  int next = -1;  // index into hops of the next listening host
  for (int i = static_cast<int>(hops.size()) - 1; i >= 1; --i) {
    Hop& h = hops[i];
    const auto& task = h.m->push->tasks()[k];
    h.token = NewToken();
    std::string line = RequestLine({"relay-accept", task.where->remote_root, entry.path, std::to_string(entry.size),
                                    entry.hash,
                                    std::to_string(h.offset), std::to_string(stream_offset), upstreams,
                                    h.m->host->address, h.token});
    if (next >= 0) {
      line.pop_back();  // the next hop's three tokens go on the same line
      line += " " + RequestLine({hops[next].m->host->address, std::to_string(hops[next].port), hops[next].token});
    }
    auto reply = h.m->push->Request(line);
    if (!reply.ok() || reply->size() != 2 || (*reply)[0] != "listening") {
      h.m->status = (reply.ok() ? DataLossError("unexpected relay-accept reply") : reply.status())
                        .WithContext(HostLabel(*h.m->host));
      continue;  // this host drops out; its upstream feeds the next listening one
    }
    std::from_chars((*reply)[1].data(), (*reply)[1].data() + (*reply)[1].size(), h.port);
    next = i;
  }

  Hop& first = hops.front();
  const auto& first_task = first.m->push->tasks()[k];
  std::string header;
  if (next >= 0) {
    header = RequestLine({"relay-put", first_task.where->remote_root, entry.path, std::to_string(entry.size),
                          entry.hash,
                          std::to_string(first.offset), std::to_string(stream_offset), hops[next].m->host->address,
                          std::to_string(hops[next].port), hops[next].token});
  } else {
    header = RequestLine({"put", first_task.where->remote_root, entry.path, std::to_string(entry.size), entry.hash,
                          std::to_string(stream_offset)});
  }
  std::vector<HostPush*> credit;
  for (const auto& h : hops) {
    if (h.m->alive()) credit.push_back(h.m->push.get());
  }
  Status sent = first.m->push->SendStream(first_task, header, stream_offset, credit);
  // Every host answers for its own copy once the stream has passed through it.
  for (auto& h : hops) {
    if (!h.m->alive()) continue;
    if (&h == &first && !sent.ok()) {
      h.m->status = sent.WithContext(first_task.remote_path).WithContext(HostLabel(*h.m->host));
      continue;
    }
    auto reply = h.m->push->ReadReply();
    if (!reply.ok()) {
      h.m->status = reply.status().WithContext(h.m->push->tasks()[k].remote_path).WithContext(HostLabel(*h.m->host));
      continue;
    }
    h.m->push->RecordDone(h.m->push->tasks()[k], h.offset, entry.size - stream_offset);
  }
}

}  // namespace

std::vector<HostReport> RunChainPush(const inventory::Inventory& inv, const std::vector<HostJob>& jobs,
                                     const LocalAgent& agent, const PushOptions& options, PushObserver& observer,
                                     const std::atomic<bool>& cancel) {
  KnownHostsFiles known_hosts(inv, options.accept_new_host_keys);
  std::vector<HostReport> reports(inv.hosts.size());
  std::vector<Member> members(inv.hosts.size());

  // Connect, install and prepare every host at once.
  std::vector<std::thread> threads;
  for (size_t i = 0; i < inv.hosts.size(); ++i) {
    threads.emplace_back([&, i] {
      Member& m = members[i];
      m.host = &inv.hosts[i];
      m.start = Clock::now();
      reports[i].host = m.host->name;
      m.status = [&]() -> Status {
        observer.Phase(m.host->name, "connecting");
        CLUSTER_ASSIGN_OR_RETURN(m.transport, ConnectHost(*m.host, known_hosts.For(*m.host)));
        observer.Phase(m.host->name, "installing agent");
        auto command = EnsureAgent(*m.transport, agent);
        if (!command.ok()) return command.status().WithContext(HostLabel(*m.host));
        m.push = std::make_unique<HostPush>(*m.transport, *command, jobs[i], observer, cancel, reports[i]);
        Status prepared = m.push->Prepare();
        return prepared.ok() ? prepared : prepared.WithContext(HostLabel(*m.host));
      }();
    });
  }
  for (auto& t : threads) t.join();

  // File by file, down the chain of the hosts that still need it.
  const std::string upstreams = AllowedUpstreams(inv);
  const size_t files = jobs.empty() ? 0 : [&] {
    size_t n = 0;
    for (const auto& a : jobs.front().artifacts) n += a.artifact->manifest.files.size();
    return n;
  }();
  for (auto& m : members) {
    if (m.alive()) observer.Phase(m.host->name, "sending (chain)");
  }
  for (size_t k = 0; k < files && !cancel.load(); ++k) {
    std::vector<Member*> chain;
    for (auto& m : members) {
      if (!m.alive()) continue;
      if (m.push->tasks()[k].state == "have") {
        m.push->RecordSkipped(m.push->tasks()[k]);
      } else {
        chain.push_back(&m);
      }
    }
    if (!chain.empty()) RelayFile(k, chain, upstreams);
  }
  // Every host finishes at once: image loads and the end of each session
  // take as long as the slowest host, not the sum of all.
  threads.clear();
  for (size_t i = 0; i < members.size(); ++i) {
    threads.emplace_back([&, i] {
      Member& m = members[i];
      if (cancel.load() && m.alive()) {
        m.status =
            CancelledError("interrupted; the bytes sent so far are kept on the host").WithContext(HostLabel(*m.host));
      }
      if (m.alive()) {
        Status finished = m.push->Finish();
        if (!finished.ok()) m.status = finished.WithContext(HostLabel(*m.host));
      }
      m.push.reset();
      m.transport.reset();  // the session ends here
      reports[i].ok = m.status.ok();
      if (!m.status.ok()) reports[i].error = m.status.message();
      reports[i].seconds = std::chrono::duration<double>(Clock::now() - m.start).count();
      observer.HostDone(reports[i]);
    });
  }
  for (auto& t : threads) t.join();
  return reports;
}

}  // namespace cluster::cli
