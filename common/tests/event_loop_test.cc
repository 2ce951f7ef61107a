#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <vector>

#include "common/event_loop.h"

using namespace liman;

namespace {
struct Pipe {
  UniqueFd read;
  UniqueFd write;
  Pipe() {
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    read.reset(fds[0]);
    write.reset(fds[1]);
  }
  void Fill() { REQUIRE(::write(write.get(), "x", 1) == 1); }
};

std::unique_ptr<EventLoop> NewLoop() {
  auto loop = EventLoop::Create();
  REQUIRE(loop.ok());
  return std::move(*loop);
}
}  // namespace

TEST_CASE("EventLoop fires timers in deadline order and not before they are due") {
  auto loop = NewLoop();
  std::vector<int> fired;
  loop->AddTimer(absl::Milliseconds(30), [&] { fired.push_back(2); });
  loop->AddTimer(absl::Milliseconds(10), [&] { fired.push_back(1); });
  EventLoop::TimerId cancelled = loop->AddTimer(absl::Milliseconds(20), [&] { fired.push_back(99); });
  loop->CancelTimer(cancelled);
  loop->AddTimer(absl::Milliseconds(40), [&] {
    fired.push_back(3);
    loop->Stop();
  });
  REQUIRE(loop->RunOnce(absl::ZeroDuration()).ok());
  CHECK(fired.empty());
  absl::Time start = absl::Now();
  REQUIRE(loop->Run().ok());
  CHECK(absl::Now() - start >= absl::Milliseconds(35));
  CHECK(fired == std::vector<int>{1, 2, 3});
}

TEST_CASE("EventLoop timers may cancel each other and re-arm themselves") {
  auto loop = NewLoop();
  int second_calls = 0, rearmed = 0;
  EventLoop::TimerId second = 0;
  loop->AddTimer(absl::ZeroDuration(), [&] { loop->CancelTimer(second); });
  second = loop->AddTimer(absl::ZeroDuration(), [&] { ++second_calls; });
  std::function<void()> again = [&] {
    if (++rearmed < 3) loop->AddTimer(absl::ZeroDuration(), again);
  };
  loop->AddTimer(absl::ZeroDuration(), again);
  absl::SleepFor(absl::Milliseconds(1));
  REQUIRE(loop->RunOnce(absl::ZeroDuration()).ok());
  CHECK(second_calls == 0);
  CHECK(rearmed == 1);  // a zero-delay re-arm runs in the next round, not this one
  REQUIRE(loop->RunOnce(absl::ZeroDuration()).ok());
  REQUIRE(loop->RunOnce(absl::ZeroDuration()).ok());
  CHECK(rearmed == 3);
}

TEST_CASE("EventLoop delivers fd events and honours Modify") {
  auto loop = NewLoop();
  Pipe pipe;
  uint32_t seen = 0;
  REQUIRE(loop->Add(pipe.write.get(), EPOLLOUT, [&](uint32_t events) { seen |= events; }).ok());
  CHECK(loop->Watching(pipe.write.get()));
  REQUIRE(loop->RunOnce(absl::Seconds(1)).ok());
  CHECK((seen & EPOLLOUT) != 0);
  REQUIRE(loop->Modify(pipe.write.get(), 0).ok());
  seen = 0;
  REQUIRE(loop->RunOnce(absl::Milliseconds(10)).ok());
  CHECK(seen == 0);
  CHECK(!loop->Add(pipe.write.get(), EPOLLOUT, [](uint32_t) {}).ok());  // already watched
  loop->Remove(pipe.write.get());
  CHECK(!loop->Watching(pipe.write.get()));
  CHECK(!loop->Modify(pipe.write.get(), EPOLLOUT).ok());
}

TEST_CASE("EventLoop callbacks may remove their own fd or others pending in the same round") {
  auto loop = NewLoop();
  Pipe first, second;
  first.Fill();
  second.Fill();
  int calls = 0;
  // Whichever runs first removes both watches: the other's ready event must not be delivered.
  auto remove_both = [&](uint32_t) {
    ++calls;
    loop->Remove(first.read.get());
    loop->Remove(second.read.get());
  };
  REQUIRE(loop->Add(first.read.get(), EPOLLIN, remove_both).ok());
  REQUIRE(loop->Add(second.read.get(), EPOLLIN, remove_both).ok());
  REQUIRE(loop->RunOnce(absl::Seconds(1)).ok());
  CHECK(calls == 1);
  CHECK(!loop->Watching(first.read.get()));
}

TEST_CASE("EventLoop does not deliver a removed fd's event to a new watch on the same number") {
  auto loop = NewLoop();
  auto first = std::make_unique<Pipe>();
  auto second = std::make_unique<Pipe>();
  first->Fill();
  second->Fill();
  std::unique_ptr<Pipe> replacement;
  int replacement_calls = 0;
  int calls = 0;
  std::function<void(uint32_t)> swap_other;
  // The first callback to run closes the other pipe and watches a fresh, empty one, which
  // gets the lowest free descriptors: the old pipe's numbers.
  auto make_callback = [&](std::unique_ptr<Pipe>* other) {
    return [&, other](uint32_t) {
      ++calls;
      if (replacement) return;
      int old_fd = (*other)->read.get();
      loop->Remove(old_fd);
      other->reset();
      replacement = std::make_unique<Pipe>();
      REQUIRE(loop->Add(replacement->read.get(), EPOLLIN, [&](uint32_t) { ++replacement_calls; }).ok());
      CHECK(replacement->read.get() == old_fd);
    };
  };
  REQUIRE(loop->Add(first->read.get(), EPOLLIN, make_callback(&second)).ok());
  REQUIRE(loop->Add(second->read.get(), EPOLLIN, make_callback(&first)).ok());
  REQUIRE(loop->RunOnce(absl::Seconds(1)).ok());
  CHECK(calls == 1);
  CHECK(replacement_calls == 0);
}

TEST_CASE("EventLoop RunOnce returns after its timeout with nothing to do") {
  auto loop = NewLoop();
  absl::Time start = absl::Now();
  REQUIRE(loop->RunOnce(absl::Milliseconds(20)).ok());
  CHECK(absl::Now() - start >= absl::Milliseconds(19));
}
