#include "containerd/remotes/byte_pipe.h"

#include <algorithm>
#include <cstring>
#include <memory>

namespace liman::containerd::remotes {

BytePipe::BytePipe(size_t capacity) : ring_(new char[capacity]), capacity_(capacity) {}

absl::Status BytePipe::Write(std::string_view data) {
  std::unique_lock lock(mutex_);
  while (!data.empty()) {
    changed_.wait(lock, [&] { return read_closed_ || size_ < capacity_; });
    if (read_closed_) return absl::CancelledError("stream consumer went away");
    // Copy into the free space, which may wrap around the end of the ring.
    size_t tail = (head_ + size_) % capacity_;
    size_t n = std::min({data.size(), capacity_ - size_, capacity_ - tail});
    std::memcpy(ring_.get() + tail, data.data(), n);
    size_ += n;
    data.remove_prefix(n);
    changed_.notify_all();
  }
  return absl::OkStatus();
}

void BytePipe::CloseWrite(absl::Status status) {
  std::lock_guard lock(mutex_);
  write_closed_ = true;
  end_status_ = std::move(status);
  changed_.notify_all();
}

absl::StatusOr<size_t> BytePipe::Read(char* buffer, size_t capacity) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return size_ > 0 || write_closed_; });
  if (size_ == 0) {
    if (!end_status_.ok()) return end_status_;
    return 0;
  }
  size_t n = std::min({capacity, size_, capacity_ - head_});
  std::memcpy(buffer, ring_.get() + head_, n);
  head_ = (head_ + n) % capacity_;
  size_ -= n;
  changed_.notify_all();
  return n;
}

void BytePipe::CloseRead() {
  std::lock_guard lock(mutex_);
  read_closed_ = true;
  changed_.notify_all();
}

ProducerSource::ProducerSource(size_t capacity, Producer produce) : pipe_(capacity), produce_(std::move(produce)) {
  thread_ = std::thread([this] {
    absl::Status status = produce_(pipe_);
    result_ = status;
    pipe_.CloseWrite(std::move(status));
  });
}

ProducerSource::~ProducerSource() { Finish().IgnoreError(); }

absl::StatusOr<size_t> ProducerSource::Read(char* buffer, size_t capacity) { return pipe_.Read(buffer, capacity); }

absl::Status ProducerSource::Finish() {
  if (!finished_) {
    pipe_.CloseRead();
    thread_.join();
    finished_ = true;
  }
  return result_;
}

absl::StatusOr<size_t> ContentSource::Read(char* buffer, size_t capacity) {
  if (offset_ >= reader_->Size()) return 0;
  int64_t length = std::min<int64_t>(static_cast<int64_t>(capacity), reader_->Size() - offset_);
  absl::StatusOr<std::string> data = reader_->ReadAt(offset_, length);
  if (!data.ok()) return data.status();
  if (data->empty()) return absl::DataLossError("blob ended before its size");
  std::memcpy(buffer, data->data(), data->size());
  offset_ += static_cast<int64_t>(data->size());
  return data->size();
}

absl::Status DrainSource(archive::ByteSource& source) {
  // On the heap for the call: a thread_local buffer would be part of every thread's static TLS
  // block in the daemons, zeroed and resident in each of their threads.
  constexpr size_t kScratchSize = 64 << 10;
  std::unique_ptr<char[]> scratch(new char[kScratchSize]);
  while (true) {
    absl::StatusOr<size_t> n = source.Read(scratch.get(), kScratchSize);
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::OkStatus();
  }
}

}  // namespace liman::containerd::remotes
