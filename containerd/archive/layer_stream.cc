#include "containerd/archive/layer_stream.h"

#include <algorithm>

#include "common/status.h"

namespace liman::containerd::archive {

LayerStream::LayerStream(ByteSource& compressed, Compression compression, LayerStreamOptions options)
    : compressed_(compressed), declared_(compression), options_(options) {
  options_.chunks = options_.read_ahead ? std::max(options_.chunks, 2) : 1;
  options_.chunk_size = std::max<size_t>(options_.chunk_size, 4096);
  for (int i = 0; i < options_.chunks; ++i) {
    buffers_.push_back(std::make_unique<char[]>(options_.chunk_size));
    free_.push_back(i);
  }
  if (options_.read_ahead) worker_ = std::thread([this] { RunWorker(); });
}

LayerStream::~LayerStream() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

absl::Status LayerStream::OpenDecoder() {
  Compression compression = declared_;
  ByteSource* source = &compressed_;
  if (compression == Compression::kNone) {
    std::string magic(4, '\0');
    LIMAN_ASSIGN_OR_RETURN(size_t n, ReadFull(compressed_, magic.data(), magic.size()));
    magic.resize(n);
    compression = DetectCompression(magic);
    sniffed_ = std::make_unique<PrefixedSource>(std::move(magic), compressed_);
    source = sniffed_.get();
  }
  decoder_ = NewDecompressor(*source, compression);
  return absl::OkStatus();
}

absl::StatusOr<size_t> LayerStream::Produce(char* buffer) {
  if (decoder_ == nullptr) LIMAN_RETURN_IF_ERROR(OpenDecoder());
  LIMAN_ASSIGN_OR_RETURN(size_t n, ReadFull(*decoder_, buffer, options_.chunk_size));
  digester_.Update(std::string_view(buffer, n));
  return n;
}

void LayerStream::RunWorker() {
  while (true) {
    int index;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || !free_.empty(); });
      if (stopping_) return;
      index = free_.back();
      free_.pop_back();
    }
    absl::StatusOr<size_t> n = Produce(buffers_[index].get());
    {
      std::lock_guard lock(mutex_);
      if (!n.ok()) {
        producer_status_ = n.status();
        producer_done_ = true;
      } else if (*n == 0) {
        producer_done_ = true;
      } else {
        filled_.emplace_back(index, *n);
      }
    }
    changed_.notify_all();
    if (!n.ok() || *n == 0) return;
  }
}

absl::StatusOr<std::string_view> LayerStream::Next() {
  if (end_) return std::string_view();
  if (!options_.read_ahead) {
    LIMAN_ASSIGN_OR_RETURN(size_t n, Produce(buffers_[0].get()));
    if (n == 0) end_ = true;
    return std::string_view(buffers_[0].get(), n);
  }
  std::unique_lock lock(mutex_);
  if (in_use_ >= 0) {
    free_.push_back(in_use_);
    in_use_ = -1;
    changed_.notify_all();
  }
  changed_.wait(lock, [this] { return !filled_.empty() || producer_done_; });
  if (filled_.empty()) {
    if (!producer_status_.ok()) return producer_status_;
    end_ = true;
    return std::string_view();
  }
  auto [index, n] = filled_.front();
  filled_.pop_front();
  in_use_ = index;
  return std::string_view(buffers_[index].get(), n);
}

absl::Status LayerStream::Drain() {
  while (true) {
    LIMAN_ASSIGN_OR_RETURN(std::string_view chunk, Next());
    if (chunk.empty()) return absl::OkStatus();
  }
}

}  // namespace liman::containerd::archive
