// raft/codec.h — the bytes segstore holds for raft (docs/REPLICATION.md "Bytes"): an entry's
// payload, the term-and-vote metadata record and a snapshot's state. Little-endian throughout.
//
// Entry payload (one segstore record per raft entry; LSN = raft index; stream = entry type):
//   0 8 term   8.. the entry's data
// Metadata record (Store::write_metadata), 24 bytes:
//   0 4 version (1)   4 4 reserved (0)   8 8 current term   16 8 voted_for (0: none)
// Snapshot state (Store::write_snapshot / install_snapshot at LSN = snapshot index):
//   0 4 version (1)  4 4 number of servers  8 8 term of the index  16 8 configuration index
//   24.. per server: 8 id, 4 role, 4 address length, the address bytes
//   then 8 data length, the data bytes
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "raft/segstore_raft.h"  // raft.h with C linkage

namespace segstore::raft_adapter {

inline constexpr std::size_t entry_header_bytes = 8;
inline constexpr std::uint32_t metadata_version = 1;
inline constexpr std::size_t metadata_bytes = 24;
inline constexpr std::uint32_t snapshot_state_version = 1;
// A configuration larger than this in a snapshot is refused as damage, not allocated.
inline constexpr std::uint32_t snapshot_servers_max = 1u << 16;
inline constexpr std::uint32_t server_address_max_bytes = 1u << 12;

struct TermAndVote {
  raft_term term = 0;
  raft_id voted_for = 0;
};

void put_u32(std::vector<std::byte> &out, std::uint32_t value);
void put_u64(std::vector<std::byte> &out, std::uint64_t value);
std::uint64_t get_u64(const std::byte *p);
std::uint32_t get_u32(const std::byte *p);

std::vector<std::byte> encode_term_and_vote(const TermAndVote &value);
// Empty string on success, else why the bytes are not a metadata record.
std::string decode_term_and_vote(std::span<const std::byte> bytes, TermAndVote *out);

// The snapshot's state without its data, then the data buffers concatenated.
std::vector<std::byte> encode_snapshot_state(const raft_snapshot &snapshot);
// Fills `out` (index set by the caller; configuration initialised here, data copied into one
// raft_malloc'd buffer). Empty string on success, else what is wrong and at which offset; `out`
// then owns nothing.
std::string decode_snapshot_state(std::span<const std::byte> bytes, raft_snapshot *out);

}  // namespace segstore::raft_adapter
