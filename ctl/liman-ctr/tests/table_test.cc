#include "ctl/liman-ctr/table.h"

#include <catch2/catch.hpp>

namespace liman::ctr {
namespace {

TEST_CASE("TabWriter aligns tab-terminated cells like Go's tabwriter (ctr tasks ls)") {
  TabWriter table(4, 8, 4, ' ');
  table.Write("TASK\tPID\tSTATUS\t\n");
  table.Write("abc\t123\tRUNNING\n");
  table.Write("a-much-longer-id\t7\tSTOPPED\n");
  CHECK(table.Flush() ==
        "TASK                PID    STATUS    \n"
        "abc                 123    RUNNING\n"
        "a-much-longer-id    7      STOPPED\n");
}

TEST_CASE("TabWriter: a column runs only over consecutive lines having it") {
  TabWriter table(1, 8, 1, ' ');
  table.Write("a\tb\tc\n");
  table.Write("aaaa\tx\n");  // no cell in column 1: the block of column 1 ends at line 0
  table.Write("z\tyyyy\tw\n");
  CHECK(table.Flush() ==
        "a    b c\n"
        "aaaa x\n"
        "z    yyyy w\n");
}

TEST_CASE("TabWriter: a line without tabs flushes, later lines align on their own") {
  TabWriter table(1, 8, 4, ' ');
  table.Write("ID\tTIMESTAMP\t\n");
  table.Write("c1\tnow\t\n\n");
  table.Write("METRIC\tVALUE\t\n");
  table.Write("pids.current\t1\t\n");
  CHECK(table.Flush() ==
        "ID    TIMESTAMP    \n"
        "c1    now          \n"
        "\n"
        "METRIC          VALUE    \n"
        "pids.current    1        \n");
}

TEST_CASE("TabWriter pads with tabs to tab stops when the pad character is a tab (ctr content ls)") {
  TabWriter table(1, 8, 1, '\t');
  table.Write("DIGEST\tSIZE\tAGE\tLABELS\n");
  table.Write("sha256:0123456789\t1.2kB\t5 minutes\t-\n");
  CHECK(table.Flush() ==
        "DIGEST\t\t\tSIZE\tAGE\t\tLABELS\n"
        "sha256:0123456789\t1.2kB\t5 minutes\t-\n");
}

TEST_CASE("TabWriter counts code points, keeps a trailing partial line without newline") {
  TabWriter table(1, 8, 1, ' ');
  table.Write("é\tx\t\nab\ty\t");
  CHECK(table.Flush() == "é  x \nab y ");
}

TEST_CASE("Sizes and durations are worded like go-units and containerd's progress.Bytes") {
  CHECK(HumanSize(0) == "0B");
  CHECK(HumanSize(512) == "512B");
  CHECK(HumanSize(1234) == "1.234kB");
  CHECK(HumanSize(2'000'000) == "2MB");
  CHECK(HumanSize(773'419) == "773.4kB");
  CHECK(HumanBytes(0) == "0.0 B");
  CHECK(HumanBytes(512) == "512.0 B");
  CHECK(HumanBytes(2'202'009) == "2.1 MiB");
  CHECK(HumanBytes(1024) == "1.0 KiB");
  CHECK(HumanDuration(0.5) == "Less than a second");
  CHECK(HumanDuration(1) == "1 second");
  CHECK(HumanDuration(59) == "59 seconds");
  CHECK(HumanDuration(60) == "About a minute");
  CHECK(HumanDuration(300) == "5 minutes");
  CHECK(HumanDuration(3600) == "About an hour");
  CHECK(HumanDuration(5 * 3600) == "5 hours");
  CHECK(HumanDuration(3 * 86400) == "3 days");
  CHECK(HumanDuration(21 * 86400) == "3 weeks");
  CHECK(HumanDuration(90 * 86400) == "3 months");
  CHECK(HumanDuration(3 * 365 * 86400) == "3 years");
}

TEST_CASE("Labels are joined sorted, with a placeholder when empty") {
  CHECK(FormatLabels({}, "-") == "-");
  CHECK(FormatLabels({{"b", "2"}, {"a", "1"}}, "-") == "a=1,b=2");
}

TEST_CASE("GoTimeString prints Go's time.Time.String() of UTC") {
  CHECK(GoTimeString(0, 0) == "1970-01-01 00:00:00 +0000 UTC");
  CHECK(GoTimeString(1700000000, 123450000) == "2023-11-14 22:13:20.12345 +0000 UTC");
}

}  // namespace
}  // namespace liman::ctr
