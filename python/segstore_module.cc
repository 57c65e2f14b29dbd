// python/segstore_module.cc — `import segstore`: the C++ Store (segstore/store.h) for Python.
//
// The GIL: every call that may wait (for the device, for a record, for a lock held by another
// thread) releases it, so other Python threads run meanwhile and a tailing reader does not stop
// the writers. Payloads are copied out of their Python objects before the GIL is released (a
// bytearray could change under a running append otherwise).
//
// Callbacks (logger, snapshot due) run on the library's threads or on an appending thread that
// released the GIL: they take the GIL themselves. Because the library may log while it holds
// its own locks, no call into the store is made with the GIL held (a thread holding the GIL and
// waiting for the store's lock, while the store's thread waits for the GIL, would deadlock).
// The Python callables the options keep are released under the GIL (PyCallable below), so a
// store closed with the GIL released may drop its options safely.
//
// Errors: segstore.Error(message) with .code (a segstore.Errc) and .name ("lsn_out_of_range").
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "segstore/status.h"
#include "segstore/store.h"

namespace py = pybind11;

namespace {

// segstore.Error, created at import.
PyObject *error_type = nullptr;

[[noreturn]] void raise(const segstore::Status &status) {
  py::object error = py::reinterpret_borrow<py::object>(error_type)(py::str(status.to_string()));
  error.attr("code") = py::cast(status.code());
  error.attr("name") = py::str(segstore::errc_name(status.code()));
  PyErr_SetObject(error_type, error.ptr());
  throw py::error_already_set();
}

template <typename T>
T value_or_raise(segstore::Result<T> result) {
  if (!result.ok()) raise(result.status());
  return std::move(result).value();
}

void check(const segstore::Status &status) {
  if (!status.ok()) raise(status);
}

// A Python callable kept by C++ code that may drop it without the GIL.
using PyCallable = std::shared_ptr<py::object>;
PyCallable keep_callable(py::object callable) {
  return PyCallable(new py::object(std::move(callable)), [](py::object *held) {
    py::gil_scoped_acquire gil;
    delete held;
  });
}

// Bytes of a bytes-like object (bytes, bytearray, memoryview, str as UTF-8), copied.
std::string bytes_from(const py::handle &data) {
  if (py::isinstance<py::str>(data)) return data.cast<std::string>();
  py::buffer_info info = py::reinterpret_borrow<py::buffer>(data).request();
  const auto size = static_cast<std::size_t>(info.size * info.itemsize);
  return std::string(static_cast<const char *>(info.ptr), size);
}

// Runs `call` with the GIL released and returns what it returns.
template <typename Call>
auto without_gil(Call &&call) {
  py::gil_scoped_release release;
  return call();
}

// A timeout in seconds (None: no timeout) as the C++ API's milliseconds.
std::chrono::milliseconds timeout_from(const std::optional<double> &seconds) {
  if (!seconds) return std::chrono::milliseconds::max();
  if (!(*seconds >= 0)) throw py::value_error("timeout must be >= 0 seconds or None");
  const double ms = std::ceil(*seconds * 1000.0);
  if (ms >= static_cast<double>(std::chrono::milliseconds::max().count())) return std::chrono::milliseconds::max();
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

struct PyRecord {
  std::uint64_t lsn = 0;
  std::uint32_t stream = 0;
  std::uint8_t type = 0;
  std::string payload;
};

PyRecord record_from(const segstore::RecordView &view) {
  return PyRecord{view.lsn, view.stream, view.type,
                  std::string(reinterpret_cast<const char *>(view.payload.data()), view.payload.size())};
}

py::dict distribution_dict(const segstore::Distribution &d) {
  py::dict out;
  out["count"] = d.count;
  out["p50"] = d.p50;
  out["p99"] = d.p99;
  out["p999"] = d.p999;
  out["max"] = d.max;
  return out;
}

py::dict stats_dict(const segstore::Stats &st) {
  py::dict out;
  out["first_lsn"] = st.first_lsn;
  out["next_lsn"] = st.next_lsn;
  out["durable_lsn"] = st.durable_lsn;
  out["segment_count"] = st.segment_count;
  out["log_bytes"] = st.log_bytes;
  out["disk_bytes"] = st.disk_bytes;
  out["appends"] = st.appends;
  out["syncs"] = st.flushes;
  out["bytes_written"] = st.bytes_written;
  out["segments_recycled"] = st.segments_recycled;
  out["free_files"] = st.free_files;
  out["average_group_records"] = st.average_group_records;
  out["blocks_read"] = st.blocks_read;
  out["read_requests"] = st.read_requests;
  out["index_bytes"] = st.index_bytes;
  out["records_per_stream"] = st.records_per_stream;
  out["io_backend"] = st.io_backend;
  out["append_latency_us"] = distribution_dict(st.append_latency_us);
  out["sync_latency_us"] = distribution_dict(st.sync_latency_us);
  out["group_records"] = distribution_dict(st.group_records);
  out["group_bytes"] = distribution_dict(st.group_bytes);
  py::dict recovery;
  recovery["ran"] = st.recovery_ran;
  recovery["duration_us"] = st.recovery_duration_us;
  recovery["segments_scanned"] = st.recovery_segments_scanned;
  recovery["records_scanned"] = st.recovery_records_scanned;
  recovery["bytes_scanned"] = st.recovery_bytes_scanned;
  recovery["cut"] = st.recovery_cut;
  recovery["bytes_quarantined"] = st.recovery_bytes_quarantined;
  out["recovery"] = recovery;
  return out;
}

// An iterator; one Python thread at a time walks it (a second one gets an error, not a race).
// cancel() may be called from any thread.
class PyIterator {
 public:
  PyIterator(segstore::Iterator it, std::optional<double> timeout)
      : it_(std::move(it)), canceller_(it_.canceller()), iteration_timeout_(timeout) {}

  // The next record, waiting up to `timeout` seconds at the end (None: no timeout, 0: no wait);
  // None when the timeout passes first.
  std::optional<PyRecord> next_wait(std::optional<double> timeout) {
    std::unique_lock walk(walk_mu_, std::try_to_lock);
    if (!walk.owns_lock()) throw py::value_error("the iterator is in use by another thread");
    const std::chrono::milliseconds wait = timeout_from(timeout);
    const bool no_wait = timeout && *timeout == 0;
    if (!value_or_raise(without_gil([&] { return no_wait ? it_.next() : it_.next_wait(wait); }))) return std::nullopt;
    return record_from(it_.record());
  }

  // Python's iteration: scan() iterators end at the end of the log; tail() iterators wait up to
  // their timeout and end when it passes.
  PyRecord next() {
    std::optional<PyRecord> record = next_wait(iteration_timeout_);
    if (!record) throw py::stop_iteration();
    return *record;
  }

  void cancel() const { canceller_.cancel(); }

 private:
  segstore::Iterator it_;
  segstore::IteratorCanceller canceller_;
  std::optional<double> iteration_timeout_;  // of Python iteration (0: no wait)
  std::mutex walk_mu_;
};

// The store; closed when the object is (or by close(), or at the end of a `with`).
class PyStore {
 public:
  explicit PyStore(std::unique_ptr<segstore::Store> store) : store_(std::move(store)) {}
  ~PyStore() {
    // Closing joins the store's threads, which may wait for the GIL to log.
    py::gil_scoped_release release;
    store_.reset();
  }

  segstore::Store &store() { return *store_; }

  void close() { check(without_gil([&] { return store_->close(); })); }

  std::uint64_t append(const py::handle &data, std::uint32_t stream, std::optional<segstore::Durability> durability) {
    const std::string bytes = bytes_from(data);
    const auto payload = std::as_bytes(std::span(bytes.data(), bytes.size()));
    return value_or_raise(without_gil(
        [&] { return durability ? store_->append(payload, stream, *durability) : store_->append(payload, stream); }));
  }

  // Items: bytes-like (stream 0) or (stream, bytes-like) pairs.
  std::uint64_t append_batch(const py::iterable &items, std::optional<segstore::Durability> durability) {
    std::vector<std::string> payloads;
    std::vector<std::uint32_t> streams;
    for (const py::handle item : items) {
      if (py::isinstance<py::tuple>(item)) {
        const auto pair = item.cast<py::tuple>();
        if (pair.size() != 2) throw py::value_error("a batch item is bytes or a (stream, bytes) pair");
        streams.push_back(pair[0].cast<std::uint32_t>());
        payloads.push_back(bytes_from(pair[1]));
      } else {
        streams.push_back(0);
        payloads.push_back(bytes_from(item));
      }
    }
    std::vector<segstore::BatchEntry> batch(payloads.size());
    for (std::size_t i = 0; i < batch.size(); ++i)
      batch[i] = {streams[i], std::as_bytes(std::span(payloads[i].data(), payloads[i].size()))};
    return value_or_raise(
        without_gil([&] { return durability ? store_->append_batch(batch, *durability) : store_->append_batch(batch); }));
  }

  std::uint64_t append_async(const py::handle &data, std::uint32_t stream) {
    const std::string bytes = bytes_from(data);
    return value_or_raise(
        without_gil([&] { return store_->append_async(std::as_bytes(std::span(bytes.data(), bytes.size())), stream); }));
  }

  PyRecord read(std::uint64_t lsn) {
    segstore::Record r = value_or_raise(without_gil([&] { return store_->read(lsn); }));
    return PyRecord{r.lsn, r.stream, r.type, std::string(reinterpret_cast<const char *>(r.payload.data()), r.payload.size())};
  }

  std::unique_ptr<PyIterator> scan(std::optional<std::uint64_t> from_lsn, std::optional<std::uint32_t> stream,
                                   bool durable_only, std::optional<double> iteration_timeout) {
    segstore::ScanOptions options;
    options.stream = stream;
    options.durable_only = durable_only;
    segstore::Iterator it =
        value_or_raise(without_gil([&] { return store_->scan(from_lsn.value_or(store_->first_lsn()), options); }));
    return std::make_unique<PyIterator>(std::move(it), iteration_timeout);
  }

  // True when the wait succeeded, False when the timeout passed; an error otherwise.
  bool wait(std::uint64_t lsn, std::optional<double> timeout, bool durable) {
    const std::chrono::milliseconds wait = timeout_from(timeout);
    const segstore::Status waited = without_gil(
        [&] { return durable ? store_->wait_until_durable(lsn, wait) : store_->wait_for_lsn(lsn, wait); });
    if (waited.code() == segstore::Errc::timed_out) return false;
    check(waited);
    return true;
  }

  std::optional<py::tuple> latest_snapshot() {
    segstore::Result<segstore::Snapshot> snapshot = without_gil([&] { return store_->latest_snapshot(); });
    if (!snapshot.ok() && snapshot.status().code() == segstore::Errc::not_found) return std::nullopt;
    segstore::Snapshot s = value_or_raise(std::move(snapshot));
    return py::make_tuple(s.lsn, py::bytes(reinterpret_cast<const char *>(s.state.data()), s.state.size()));
  }

  // Runs `call` (returning a Status) without the GIL and raises its error.
  template <typename Call>
  void unlocked(Call &&call) {
    check(without_gil([&] { return call(*store_); }));
  }

 private:
  std::unique_ptr<segstore::Store> store_;
};

segstore::Options options_from(const py::kwargs &kwargs) {
  segstore::Options o;
  for (const auto &[key_handle, value] : kwargs) {
    const std::string key = key_handle.cast<std::string>();
    if (key == "segment_bytes") o.segment_bytes = value.cast<std::uint64_t>();
    else if (key == "durability") o.durability = value.cast<segstore::Durability>();
    else if (key == "flush_interval_ms") o.flush_interval_ms = value.cast<std::uint32_t>();
    else if (key == "io_backend") o.io_backend = value.cast<segstore::IoBackendKind>();
    else if (key == "direct_io") o.direct_io = value.cast<bool>();
    else if (key == "prealloc") o.prealloc = value.cast<segstore::PreallocMode>();
    else if (key == "preallocate_next_segment") o.preallocate_next_segment = value.cast<bool>();
    else if (key == "recycled_segments_max") o.recycled_segments_max = value.cast<std::uint32_t>();
    else if (key == "write_group_bytes_max") o.write_group_bytes_max = value.cast<std::uint32_t>();
    else if (key == "inflight_groups_max") o.inflight_groups_max = value.cast<std::uint32_t>();
    else if (key == "create_if_missing") o.create_if_missing = value.cast<bool>();
    else if (key == "retain_bytes_max") o.retain_bytes_max = value.cast<std::uint64_t>();
    else if (key == "retain_segments_max") o.retain_segments_max = value.cast<std::uint64_t>();
    else if (key == "retain_age_ms_max") o.retain_age_ms_max = value.cast<std::uint64_t>();
    else if (key == "verify_on_open") o.verify_on_open = value.cast<bool>();
    else if (key == "strict_recovery") o.strict_recovery = value.cast<bool>();
    else if (key == "accept_data_loss") o.accept_data_loss = value.cast<bool>();
    else if (key == "snapshots_kept") o.snapshots_kept = value.cast<std::uint32_t>();
    else if (key == "snapshot_every_records") o.snapshot_every_records = value.cast<std::uint64_t>();
    else if (key == "on_snapshot_due") {
      if (value.is_none()) continue;
      PyCallable fn = keep_callable(py::reinterpret_borrow<py::object>(value));
      o.on_snapshot_due = [fn](std::uint64_t lsn) {
        py::gil_scoped_acquire gil;
        try {
          (*fn)(lsn);
        } catch (py::error_already_set &e) {
          e.discard_as_unraisable("segstore on_snapshot_due");
        }
      };
    } else if (key == "logger") {
      if (value.is_none()) continue;
      PyCallable fn = keep_callable(py::reinterpret_borrow<py::object>(value));
      o.logger = [fn](segstore::LogLevel level, const std::string &message) {
        py::gil_scoped_acquire gil;
        try {
          (*fn)(level, message);
        } catch (py::error_already_set &e) {
          e.discard_as_unraisable("segstore logger");
        }
      };
    } else {
      throw py::type_error("open() got an unexpected option '" + key + "'");
    }
  }
  return o;
}

std::unique_ptr<PyStore> open_store(const std::string &dir, const py::kwargs &kwargs) {
  const segstore::Options options = options_from(kwargs);
  return std::make_unique<PyStore>(value_or_raise(without_gil([&] { return segstore::Store::open(dir, options); })));
}

}  // namespace

PYBIND11_MODULE(segstore, m) {
  m.doc() = "segstore: a durable, checksummed, segmented log (the C++ library's Store)";

  py::enum_<segstore::Errc> errc(m, "Errc", "Error codes (segstore/status.h; the C API's negated)");
  for (int code = 0; code <= static_cast<int>(segstore::Errc::data_loss); ++code) {
    const auto value = static_cast<segstore::Errc>(code);
    errc.value(segstore::errc_name(value), value);
  }
  py::enum_<segstore::Durability>(m, "Durability")
      .value("SYNC", segstore::Durability::sync)
      .value("INTERVAL", segstore::Durability::interval)
      .value("NONE", segstore::Durability::none);
  py::enum_<segstore::IoBackendKind>(m, "IoBackend")
      .value("AUTOMATIC", segstore::IoBackendKind::automatic)
      .value("URING", segstore::IoBackendKind::uring)
      .value("THREAD", segstore::IoBackendKind::thread);
  py::enum_<segstore::PreallocMode>(m, "Prealloc")
      .value("ZERO_FILL", segstore::PreallocMode::zero_fill)
      .value("FALLOCATE", segstore::PreallocMode::fallocate)
      .value("AUTOMATIC", segstore::PreallocMode::automatic);
  py::enum_<segstore::LogLevel>(m, "LogLevel")
      .value("DEBUG", segstore::LogLevel::debug)
      .value("INFO", segstore::LogLevel::info)
      .value("WARNING", segstore::LogLevel::warning)
      .value("ERROR", segstore::LogLevel::error);

  error_type = PyErr_NewExceptionWithDoc(
      "segstore.Error", "A failed store operation: .code (segstore.Errc) and .name say which error", nullptr, nullptr);
  m.attr("Error") = py::reinterpret_borrow<py::object>(error_type);

  py::class_<PyRecord>(m, "Record")
      .def_readonly("lsn", &PyRecord::lsn)
      .def_readonly("stream", &PyRecord::stream)
      .def_readonly("type", &PyRecord::type)
      .def_property_readonly("payload", [](const PyRecord &r) { return py::bytes(r.payload); })
      .def("__repr__", [](const PyRecord &r) {
        return "Record(lsn=" + std::to_string(r.lsn) + ", stream=" + std::to_string(r.stream) + ", " +
               std::to_string(r.payload.size()) + " bytes)";
      });

  py::class_<PyIterator>(m, "Iterator")
      .def("__iter__", [](PyIterator &it) -> PyIterator & { return it; })
      .def("__next__", &PyIterator::next)
      .def("next", &PyIterator::next_wait, py::arg("timeout") = 0.0,
           "The next record, or None: at the end of the log at once (timeout 0), after `timeout` "
           "seconds of waiting, or never (None). Releases the GIL while it waits.")
      .def("cancel", &PyIterator::cancel,
           "Ends a wait in progress (from any thread) with segstore.Error(code=Errc.cancelled); "
           "with none in progress, the next wait.");

  py::class_<PyStore>(m, "Store")
      .def_static("open", &open_store, py::arg("dir"),
                  "Opens (or creates) the store in `dir`; options as keyword arguments (see segstore.open).")
      .def("close", &PyStore::close)
      .def("__enter__", [](PyStore &s) -> PyStore & { return s; })
      .def("__exit__", [](PyStore &s, const py::args &) { s.close(); })
      .def("append", &PyStore::append, py::arg("data"), py::arg("stream") = 0, py::arg("durability") = py::none(),
           "Appends one record; returns its LSN (durable on return with Durability.SYNC).")
      .def("append_batch", &PyStore::append_batch, py::arg("records"), py::arg("durability") = py::none(),
           "Appends records (bytes, or (stream, bytes) pairs) atomically; returns the first LSN.")
      .def("append_async", &PyStore::append_async, py::arg("data"), py::arg("stream") = 0,
           "Queues a record and returns its LSN at once; wait_durable(lsn) waits for it.")
      .def("wait_durable", [](PyStore &s, std::uint64_t lsn) { s.unlocked([&](segstore::Store &st) { return st.wait_durable(lsn); }); },
           py::arg("lsn"))
      .def("sync", [](PyStore &s) { s.unlocked([](segstore::Store &st) { return st.sync(); }); })
      .def("wait_for_lsn", [](PyStore &s, std::uint64_t lsn, std::optional<double> timeout) { return s.wait(lsn, timeout, false); },
           py::arg("lsn"), py::arg("timeout") = py::none(),
           "True once record `lsn` exists, False when `timeout` seconds passed first.")
      .def("wait_until_durable",
           [](PyStore &s, std::uint64_t lsn, std::optional<double> timeout) { return s.wait(lsn, timeout, true); },
           py::arg("lsn"), py::arg("timeout") = py::none(),
           "True once record `lsn` is durable (starting no sync), False when `timeout` passed first.")
      .def("read", &PyStore::read, py::arg("lsn"))
      .def("scan", [](PyStore &s, std::optional<std::uint64_t> from_lsn, std::optional<std::uint32_t> stream,
                      bool durable_only) { return s.scan(from_lsn, stream, durable_only, 0.0); },
           py::arg("from_lsn") = py::none(), py::arg("stream") = py::none(), py::arg("durable_only") = false,
           "Records from `from_lsn` (default: the first) to the current end of the log.")
      .def("tail", [](PyStore &s, std::optional<std::uint64_t> from_lsn, std::optional<std::uint32_t> stream,
                      bool durable_only, std::optional<double> timeout) { return s.scan(from_lsn, stream, durable_only, timeout); },
           py::arg("from_lsn") = py::none(), py::arg("stream") = py::none(), py::arg("durable_only") = false,
           py::arg("timeout") = py::none(),
           "Records from `from_lsn` on, waiting for new ones (the GIL released); iteration ends when "
           "`timeout` seconds pass without a record (None: never; cancel() ends it with an error).")
      .def("truncate_after", [](PyStore &s, std::uint64_t lsn) { s.unlocked([&](segstore::Store &st) { return st.truncate_after(lsn); }); })
      .def("trim_before", [](PyStore &s, std::uint64_t lsn) { s.unlocked([&](segstore::Store &st) { return st.trim_before(lsn); }); })
      .def("reset_to", [](PyStore &s, std::uint64_t lsn) { s.unlocked([&](segstore::Store &st) { return st.reset_to(lsn); }); })
      .def("write_snapshot",
           [](PyStore &s, std::uint64_t lsn, const py::handle &state) {
             const std::string bytes = bytes_from(state);
             s.unlocked([&](segstore::Store &st) {
               return st.write_snapshot(lsn, std::as_bytes(std::span(bytes.data(), bytes.size())));
             });
           },
           py::arg("lsn"), py::arg("state"))
      .def("latest_snapshot", &PyStore::latest_snapshot, "(lsn, state) of the newest snapshot, or None.")
      .def("stats", [](PyStore &s) {
             return stats_dict(without_gil([&] { return s.store().stats(); }));
           })
      .def("recovery_report", [](PyStore &s) { return s.store().recovery_report().to_string(); })
      .def_property_readonly("first_lsn", [](PyStore &s) { py::gil_scoped_release r; return s.store().first_lsn(); })
      .def_property_readonly("next_lsn", [](PyStore &s) { py::gil_scoped_release r; return s.store().next_lsn(); })
      .def_property_readonly("durable_lsn", [](PyStore &s) { py::gil_scoped_release r; return s.store().durable_lsn(); })
      .def_property_readonly("dir", [](PyStore &s) { return s.store().dir(); });

  m.def("open", &open_store, py::arg("dir"),
        "open(dir, **options) -> Store. Options (segstore/store.h): segment_bytes, durability "
        "(Durability), flush_interval_ms, io_backend (IoBackend), direct_io, prealloc (Prealloc), "
        "preallocate_next_segment, recycled_segments_max, write_group_bytes_max, inflight_groups_max, create_if_missing, "
        "retain_bytes_max, retain_segments_max, retain_age_ms_max, verify_on_open, strict_recovery, "
        "accept_data_loss, "
        "snapshots_kept, snapshot_every_records, on_snapshot_due(lsn), logger(level, message).");
}
