// io/uring_heads.h — the first bytes of many files of one directory, through one io_uring.
//
// Opening a store of thousands of sealed segments reads the 80-byte header of each one's index
// snapshot. One file at a time, that is four system calls per file (openat, fstat, pread,
// close), and on a virtual machine each call's entry and exit cost more than the read itself.
// Here each step is submitted for a batch of files at once: openat (O_NOFOLLOW, O_NONBLOCK:
// no symbolic link followed, no FIFO waited on), statx of the opened descriptor (only regular
// files go on), the read, the close. A file that fails any step is left to its caller, who
// opens it alone and meets the error with its full message there.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace segstore::io {

using FileHeads = std::vector<std::optional<std::vector<std::byte>>>;

// The first `bytes` bytes of each names[i] in the directory `dir_fd` (fewer where a file is
// shorter), or nullopt for a file that could not be read this way. nullopt as a whole: no
// io_uring here (the caller reads the files one by one).
std::optional<FileHeads> read_heads_uring(int dir_fd, std::span<const std::string> names, std::size_t bytes);

}  // namespace segstore::io
