"""Rollup windows and wait policies (Airflow 3.3's partitioned assets): the members each
window lists, forward and backward, what each wait policy accepts, and their JSON forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headwater.authoring.partition_stored import PartitionJsonError
from headwater.authoring.partition_windows import (
    DayWindow,
    HourWindow,
    MinimumCount,
    MonthWindow,
    QuarterWindow,
    SegmentWindow,
    WaitForAll,
    WaitPolicy,
    WeekWindow,
    Window,
    YearWindow,
    wait_policy_from_json,
    wait_policy_to_json,
    window_from_json,
    window_to_json,
)
from headwater.exceptions import DagDefinitionError, InvalidPartitionKeyError

BACKWARD = Window.Direction.BACKWARD


def members(window: Window, anchor: Any) -> list[Any]:
    return list(window.to_upstream(anchor))


# --- temporal windows ---------------------------------------------------------------------


def test_hour_day_and_week_windows_list_their_steps_from_the_start() -> None:
    start = datetime(2024, 3, 13)
    minutes = members(HourWindow(), datetime(2024, 3, 13, 10))
    assert len(minutes) == 60
    assert (minutes[0], minutes[-1]) == (datetime(2024, 3, 13, 10), datetime(2024, 3, 13, 10, 59))
    hours = members(DayWindow(), start)
    assert hours == [start + timedelta(hours=n) for n in range(24)]
    days = members(WeekWindow(), datetime(2024, 3, 11))
    assert days == [datetime(2024, 3, d) for d in range(11, 18)]


def test_backward_windows_list_the_period_ending_at_the_anchor() -> None:
    days = members(WeekWindow(direction=BACKWARD), datetime(2024, 3, 11))
    assert days == [datetime(2024, 3, d) for d in range(5, 12)]
    hours = members(DayWindow(direction="backward"), datetime(2024, 3, 13))
    assert (len(hours), hours[0], hours[-1]) == (
        24,
        datetime(2024, 3, 12, 1),
        datetime(2024, 3, 13),
    )
    months = members(QuarterWindow(direction=BACKWARD), datetime(2024, 2, 1))
    assert months == [datetime(2023, 12, 1), datetime(2024, 1, 1), datetime(2024, 2, 1)]


@pytest.mark.parametrize(
    ("anchor", "count"),
    [
        (datetime(2024, 2, 1), 29),
        (datetime(2023, 2, 1), 28),
        (datetime(2024, 4, 1), 30),
        (datetime(2024, 12, 1), 31),
    ],
)
def test_a_month_window_has_each_day_of_the_calendar_month(anchor: datetime, count: int) -> None:
    days = members(MonthWindow(), anchor)
    assert len(days) == count
    assert days[0] == anchor
    assert days[-1] == anchor + timedelta(days=count - 1)


def test_a_backward_month_window_ends_at_the_anchor() -> None:
    days = members(MonthWindow(direction=BACKWARD), datetime(2024, 3, 1))
    assert (len(days), days[0], days[-1]) == (29, datetime(2024, 2, 2), datetime(2024, 3, 1))
    january = members(MonthWindow(direction=BACKWARD), datetime(2024, 1, 1))
    assert (january[0], january[-1]) == (datetime(2023, 12, 2), datetime(2024, 1, 1))


def test_quarter_and_year_windows_list_month_starts_across_years() -> None:
    assert members(QuarterWindow(), datetime(2024, 10, 1)) == [
        datetime(2024, 10, 1),
        datetime(2024, 11, 1),
        datetime(2024, 12, 1),
    ]
    year = members(YearWindow(), datetime(2024, 1, 1))
    assert year == [datetime(2024, m, 1) for m in range(1, 13)]
    back = members(YearWindow(direction=BACKWARD), datetime(2024, 1, 1))
    assert (back[0], back[-1]) == (datetime(2023, 2, 1), datetime(2024, 1, 1))


def test_aware_anchors_keep_their_zone() -> None:
    hours = members(DayWindow(), datetime(2024, 3, 13, tzinfo=UTC))
    assert hours[5] == datetime(2024, 3, 13, 5, tzinfo=UTC)


@pytest.mark.parametrize("window", [MonthWindow(), QuarterWindow(), YearWindow()])
def test_month_aligned_windows_need_the_first_of_a_month(window: Window) -> None:
    with pytest.raises(InvalidPartitionKeyError, match=r"first of a month, got 2024-03-13"):
        members(window, datetime(2024, 3, 13))


def test_temporal_windows_need_a_datetime() -> None:
    with pytest.raises(InvalidPartitionKeyError, match=r"DayWindow .* got '2024-03-13'"):
        members(DayWindow(), "2024-03-13")


def test_a_bad_direction_is_a_definition_error() -> None:
    with pytest.raises(DagDefinitionError, match=r"WeekWindow direction must be .* 'sideways'"):
        WeekWindow(direction="sideways")  # type: ignore[arg-type]


def test_direction_is_a_string_enum() -> None:
    assert Window.Direction.FORWARD == "forward"
    assert WeekWindow().direction is Window.Direction.FORWARD
    assert WeekWindow(direction="backward").direction is BACKWARD


# --- segment window -----------------------------------------------------------------------


def test_a_segment_window_lists_its_segments_whatever_the_key() -> None:
    window = SegmentWindow(["us", "eu", "apac", "eu"])
    assert window.to_upstream("all_regions") == frozenset({"us", "eu", "apac"})
    assert window.segments == ("apac", "eu", "us")
    assert window == SegmentWindow(["eu", "us", "apac"])
    assert repr(window) == "SegmentWindow(['apac', 'eu', 'us'])"


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ([], r"SegmentWindow segments: give at least one key"),
        (["us", ""], r"non-empty strings, got '' at index 1"),
        (["us", 3], r"non-empty strings, got 3 at index 1"),
        ("us", r"SegmentWindow segments must be a list of keys, got 'us'"),
    ],
)
def test_bad_segments_are_definition_errors(segments: Any, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        SegmentWindow(segments)


# --- wait policies ------------------------------------------------------------------------

EXPECTED = frozenset(f"k{n}" for n in range(10))


def arrived(count: int, *extra: str) -> set[str]:
    return {f"k{n}" for n in range(count)} | set(extra)


def test_wait_for_all_needs_every_expected_key() -> None:
    policy = WaitForAll()
    assert not policy.is_satisfied_by_keys(matched=arrived(9, "other"), expected=EXPECTED)
    assert policy.is_satisfied_by_keys(matched=arrived(10), expected=EXPECTED)
    assert policy.is_satisfied_by_keys(matched=set(), expected=frozenset())
    assert not policy.is_unreachable(0)


def test_a_positive_minimum_count_needs_that_many_expected_keys() -> None:
    policy = MinimumCount(3)
    assert not policy.is_satisfied_by_keys(matched=arrived(2, "x", "y"), expected=EXPECTED)
    assert policy.is_satisfied_by_keys(matched=arrived(3), expected=EXPECTED)
    assert policy.is_unreachable(2)
    assert not policy.is_unreachable(3)


def test_a_negative_minimum_count_allows_that_many_missing_keys() -> None:
    policy = MinimumCount(-2)
    assert not policy.is_satisfied_by_keys(matched=arrived(7), expected=EXPECTED)
    assert policy.is_satisfied_by_keys(matched=arrived(8), expected=EXPECTED)
    assert policy.is_satisfied_by_keys(matched=set(), expected=frozenset({"a"}))
    assert not policy.is_unreachable(0)
    assert policy.is_satisfied(0, 0)


@pytest.mark.parametrize(
    ("n", "message"),
    [
        (0, r"MinimumCount\(0\) would start the run before any key arrives"),
        (True, r"MinimumCount n must be an integer, got True"),
        ("3", r"MinimumCount n must be an integer, got '3'"),
    ],
)
def test_bad_minimum_counts_are_definition_errors(n: Any, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        MinimumCount(n)


class EvenCount(WaitPolicy):
    """A policy of one's own: an even number of keys (counts only)."""

    def is_satisfied(self, matched: int, expected: int) -> bool:
        return matched > 0 and matched % 2 == 0


def test_a_policy_of_ones_own_works_from_counts() -> None:
    assert EvenCount().is_satisfied_by_keys(matched=arrived(4), expected=EXPECTED)
    assert not EvenCount().is_satisfied_by_keys(matched=arrived(3, "z"), expected=EXPECTED)
    assert not EvenCount().is_unreachable(10)


# --- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "stored"),
    [
        (HourWindow(), {"kind": "hour", "direction": "forward"}),
        (DayWindow(), {"kind": "day", "direction": "forward"}),
        (WeekWindow(direction=BACKWARD), {"kind": "week", "direction": "backward"}),
        (MonthWindow(), {"kind": "month", "direction": "forward"}),
        (QuarterWindow(), {"kind": "quarter", "direction": "forward"}),
        (YearWindow(direction=BACKWARD), {"kind": "year", "direction": "backward"}),
        (SegmentWindow(["us", "eu"]), {"kind": "segment", "segments": ["eu", "us"]}),
    ],
)
def test_windows_round_trip_through_json(window: Window, stored: dict[str, Any]) -> None:
    assert window_to_json(window) == stored
    back = window_from_json(stored)
    assert back == window
    assert type(back) is type(window)
    assert back != DayWindow(direction=Window.Direction.BACKWARD)


@pytest.mark.parametrize(
    ("policy", "stored"),
    [
        (WaitForAll(), {"kind": "wait_for_all"}),
        (MinimumCount(5), {"kind": "minimum_count", "n": 5}),
        (MinimumCount(-1), {"kind": "minimum_count", "n": -1}),
    ],
)
def test_wait_policies_round_trip_through_json(policy: WaitPolicy, stored: dict[str, Any]) -> None:
    assert wait_policy_to_json(policy) == stored
    assert wait_policy_from_json(stored) == policy
    assert hash(wait_policy_from_json(stored)) == hash(policy)


class TwoDayWindow(Window):
    """A window of one's own: two days from the anchor, with a step size."""

    expected_decoded_type = datetime

    def __init__(self, step_hours: int = 24, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step_hours = step_hours

    def to_upstream(self, decoded_downstream: Any) -> list[datetime]:
        step = timedelta(hours=self.step_hours)
        return [decoded_downstream + step * n for n in range(48 // self.step_hours)]

    def to_json_data(self) -> dict[str, Any]:
        return {**super().to_json_data(), "step_hours": self.step_hours}

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> TwoDayWindow:
        return cls(data["step_hours"], direction=data["direction"])


class AirflowStylePolicy(WaitPolicy):
    """A policy written for Airflow: serialize/deserialize."""

    def __init__(self, share: float) -> None:
        self.share = share

    def is_satisfied(self, matched: int, expected: int) -> bool:
        return matched >= self.share * expected

    def serialize(self) -> dict[str, Any]:
        return {"share": self.share}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> AirflowStylePolicy:
        return cls(data["share"])


def test_windows_and_policies_of_ones_own_round_trip_by_classpath() -> None:
    window = TwoDayWindow(12, direction=BACKWARD)
    stored = window.to_json()
    assert stored == {
        "classpath": f"{__name__}.TwoDayWindow",
        "data": {"direction": "backward", "step_hours": 12},
    }
    assert window_from_json(stored) == window
    assert window_from_json(stored) != TwoDayWindow(6, direction=BACKWARD)
    policy = AirflowStylePolicy(0.5)
    assert policy.to_json() == {
        "classpath": f"{__name__}.AirflowStylePolicy",
        "data": {"share": 0.5},
    }
    assert wait_policy_from_json(policy.to_json()) == policy
    assert policy.to_json_data() == {"share": 0.5}
    assert AirflowStylePolicy.from_json_data({"share": 0.25}) == AirflowStylePolicy(0.25)


def test_a_class_defined_in_a_function_cannot_be_stored() -> None:
    class Local(WaitForAll):
        pass

    with pytest.raises(DagDefinitionError, match=r"Local is defined inside a function"):
        Local().to_json()


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ("day", r"a stored partition window must be a JSON object, got 'day'"),
        ({"direction": "forward"}, r"needs 'kind' or 'classpath', got the fields \['direction'\]"),
        ({"kind": "fortnight"}, r"unknown partition window kind 'fortnight' \(known: day, hour,"),
        ({"kind": "segment"}, r"stored partition window 'segment' lacks the field 'segments'"),
        ({"kind": "segment", "segments": []}, r"'segment' is malformed: .*give at least one key"),
        ({"kind": "day", "direction": "up"}, r"'day' is malformed: DayWindow direction must be"),
        ({"classpath": "nowhere_module.Win"}, r"classpath 'nowhere_module.Win': no such module"),
        ({"classpath": "datetime.datetime"}, r"classpath 'datetime.datetime' is not a Window"),
        ({"classpath": "Win"}, r"classpath 'Win' is not 'module.Class'"),
        (
            {"classpath": f"{__name__}.TwoDayWindow", "data": []},
            r"stored partition window TwoDayWindow: 'data' must be an object",
        ),
    ],
)
def test_malformed_stored_windows_say_what_is_wrong(stored: Any, message: str) -> None:
    with pytest.raises(PartitionJsonError, match=message):
        window_from_json(stored)


def test_malformed_stored_policies_say_what_is_wrong() -> None:
    with pytest.raises(
        PartitionJsonError, match=r"wait policy 'minimum_count' lacks the field 'n'"
    ):
        wait_policy_from_json({"kind": "minimum_count"})
    with pytest.raises(
        PartitionJsonError, match=r"'minimum_count' is malformed: MinimumCount\(0\)"
    ):
        wait_policy_from_json({"kind": "minimum_count", "n": 0})
    with pytest.raises(PartitionJsonError, match=r"unknown wait policy kind 'day'"):
        wait_policy_from_json({"kind": "day"})
    assert issubclass(PartitionJsonError, ValueError)


def test_reprs_read_like_the_calls() -> None:
    assert repr(DayWindow()) == "DayWindow()"
    assert repr(WeekWindow(direction=BACKWARD)) == "WeekWindow(direction=Window.Direction.BACKWARD)"
    assert repr(MinimumCount(-2)) == "MinimumCount(-2)"
    assert repr(WaitForAll()) == "WaitForAll()"
