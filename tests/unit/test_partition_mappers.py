"""Partition mappers (Airflow 3.3's partitioned assets): how each maps an upstream event's
partition key to downstream keys, in which time zone, what rollups wait for, the errors
definitions and keys get, and the JSON form the scheduler reads them from."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from headwater.authoring.partition_mappers import (
    AllowedKeyMapper,
    ChainMapper,
    FixedKeyMapper,
    IdentityMapper,
    PartitionMapper,
    ProductMapper,
    mapper_from_json,
    mapper_to_json,
)
from headwater.authoring.partition_mappers_temporal import (
    StartOfDayMapper,
    StartOfHourMapper,
    StartOfMonthMapper,
    StartOfQuarterMapper,
    StartOfWeekMapper,
    StartOfYearMapper,
)
from headwater.authoring.partition_mappers_windowed import FanOutMapper, RollupMapper
from headwater.authoring.partition_stored import PartitionJsonError
from headwater.authoring.partition_windows import (
    DayWindow,
    HourWindow,
    MinimumCount,
    MonthWindow,
    QuarterWindow,
    SegmentWindow,
    WaitForAll,
    WeekWindow,
    Window,
    YearWindow,
)
from headwater.exceptions import DagDefinitionError, HeadwaterError, InvalidPartitionKeyError

KEY = "2024-03-13T10:42:15"
PARIS = ZoneInfo("Europe/Paris")

# --- temporal mappers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapper", "downstream", "start"),
    [
        (StartOfHourMapper(), "2024-03-13T10", datetime(2024, 3, 13, 10, tzinfo=UTC)),
        (StartOfDayMapper(), "2024-03-13", datetime(2024, 3, 13, tzinfo=UTC)),
        (StartOfWeekMapper(), "2024-03-11 (W11)", datetime(2024, 3, 11, tzinfo=UTC)),
        (StartOfMonthMapper(), "2024-03", datetime(2024, 3, 1, tzinfo=UTC)),
        (StartOfQuarterMapper(), "2024-Q1", datetime(2024, 1, 1, tzinfo=UTC)),
        (StartOfYearMapper(), "2024", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_temporal_mappers_map_to_the_start_of_the_period(
    mapper: PartitionMapper, downstream: str, start: datetime
) -> None:
    assert mapper.to_downstream(KEY) == downstream
    assert mapper.downstream_keys(KEY) == [downstream]
    assert mapper.to_partition_date(downstream) == start
    assert mapper.to_partition_date(downstream).tzinfo is not None  # type: ignore[union-attr]


def test_quarters_and_iso_weeks_across_year_ends() -> None:
    assert StartOfQuarterMapper().to_downstream("2024-11-30T23:59:59") == "2024-Q4"
    assert StartOfQuarterMapper().to_partition_date("2024-Q4") == datetime(2024, 10, 1, tzinfo=UTC)
    iso = StartOfWeekMapper(output_format="%G-W%V")
    assert iso.to_downstream("2025-01-01T00:00:00") == "2025-W01"
    assert iso.to_partition_date("2025-W01") == datetime(2024, 12, 30, tzinfo=UTC)
    assert StartOfWeekMapper().to_downstream("2025-01-01T00:00:00") == "2024-12-30 (W01)"


def test_naive_keys_are_read_in_the_mappers_time_zone() -> None:
    key = "2024-03-13T23:30:00"
    assert StartOfDayMapper().to_downstream(key) == "2024-03-13"
    assert StartOfDayMapper(timezone="Europe/Paris").to_downstream(key) == "2024-03-13"
    assert StartOfHourMapper(timezone="Europe/Paris").to_partition_date("2024-03-13T23") == (
        datetime(2024, 3, 13, 22, tzinfo=UTC)
    )


def test_keys_with_an_offset_are_moved_to_the_mappers_time_zone() -> None:
    with_offset = "%Y-%m-%dT%H:%M:%S%z"
    key = "2024-03-13T23:30:00+00:00"
    assert StartOfDayMapper(input_format=with_offset).to_downstream(key) == "2024-03-13"
    paris = StartOfDayMapper(timezone="Europe/Paris", input_format=with_offset)
    assert paris.to_downstream(key) == "2024-03-14"
    assert paris.to_downstream("2024-03-13T23:30:00Z") == "2024-03-14"
    date = paris.to_partition_date("2024-03-14")
    assert date == datetime(2024, 3, 13, 23, tzinfo=UTC)
    assert date.utcoffset() == timedelta(hours=1)
    summer = paris.to_partition_date("2024-07-01")
    assert summer.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("zone", "stored"),
    [
        ("UTC", "UTC"),
        (UTC, "UTC"),
        (PARIS, "Europe/Paris"),
        ("Asia/Kolkata", "Asia/Kolkata"),
        (timezone(timedelta(hours=5, minutes=30)), "+05:30"),
        ("-03:00", "-03:00"),
    ],
)
def test_time_zones_given_as_names_or_objects(zone: Any, stored: str) -> None:
    mapper = StartOfDayMapper(timezone=zone)
    assert mapper.timezone_name == stored
    assert mapper.to_json()["timezone"] == stored
    assert mapper_from_json(mapper.to_json()) == mapper


def test_pendulum_time_zones_are_accepted() -> None:
    pendulum = pytest.importorskip("pendulum")
    named = StartOfDayMapper(timezone=pendulum.timezone("Europe/Paris"))
    assert named == StartOfDayMapper(timezone="Europe/Paris")
    assert named.timezone == PARIS
    assert type(named.timezone) is ZoneInfo
    assert StartOfDayMapper(timezone=pendulum.UTC).timezone_name == "UTC"
    fixed = StartOfHourMapper(timezone=pendulum.FixedTimezone(3600))
    assert fixed.timezone_name == "+01:00"
    assert fixed.to_partition_date("2024-03-13T10") == datetime(2024, 3, 13, 9, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", 5, "+25:00"])
def test_a_bad_time_zone_is_a_definition_error(zone: Any) -> None:
    with pytest.raises(
        DagDefinitionError, match=r"StartOfDayMapper timezone .* is not a time zone"
    ):
        StartOfDayMapper(timezone=zone)


def test_a_key_that_does_not_match_the_input_format_cannot_be_mapped() -> None:
    mapper = StartOfDayMapper()
    message = r"StartOfDayMapper cannot map partition key '2024/03/13': it does not match input_format '%Y-%m-%dT%H:%M:%S'"
    with pytest.raises(InvalidPartitionKeyError, match=message):
        mapper.to_downstream("2024/03/13")
    with pytest.raises(InvalidPartitionKeyError, match=message):
        mapper.downstream_keys("2024/03/13")
    with pytest.raises(InvalidPartitionKeyError, match=r"cannot read downstream key '2024-13'"):
        StartOfMonthMapper().to_partition_date("2024-13")


def test_custom_formats() -> None:
    mapper = StartOfHourMapper(input_format="%Y%m%d%H%M", output_format="%Y/%m/%d %Hh")
    assert mapper.to_downstream("202403131042") == "2024/03/13 10h"
    assert mapper.to_partition_date("2024/03/13 10h") == datetime(2024, 3, 13, 10, tzinfo=UTC)
    quarter = StartOfQuarterMapper(output_format="Q{quarter}/%Y")
    assert quarter.to_downstream(KEY) == "Q1/2024"
    assert quarter.decode_downstream("Q3/2024") == datetime(2024, 7, 1)
    month = StartOfMonthMapper(output_format="%b %Y")  # strptime reads what the regex cannot
    assert month.to_downstream(KEY) == "Mar 2024"
    assert month.to_partition_date("Mar 2024") == datetime(2024, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: StartOfDayMapper(output_format="%Y-%m"),
            r"StartOfDayMapper output_format '%Y-%m' cannot be read back to the start of the day",
        ),
        (
            lambda: StartOfWeekMapper(output_format="W%V"),
            r"StartOfWeekMapper output_format 'W%V' cannot be read back",
        ),
        (
            lambda: StartOfQuarterMapper(output_format="%Y"),
            r"StartOfQuarterMapper output_format '%Y' cannot be read back to the start of the quarter",
        ),
        (
            lambda: StartOfHourMapper(input_format="%Y-%Q"),
            r"StartOfHourMapper input_format '%Y-%Q' cannot be read by strptime",
        ),
        (
            lambda: StartOfHourMapper(input_format=""),
            r"StartOfHourMapper input_format must be a format",
        ),
        (
            lambda: StartOfYearMapper(max_downstream_keys=0),
            r"StartOfYearMapper max_downstream_keys must be a positive integer",
        ),
    ],
)
def test_bad_temporal_definitions(make: Any, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        make()


# --- key mappers --------------------------------------------------------------------------


def test_identity_allowed_and_fixed_keys() -> None:
    assert IdentityMapper().downstream_keys("us") == ["us"]
    assert IdentityMapper().to_partition_date("2024-03-13") is None
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    assert IdentityMapper().carry_partition_date(moment) == moment
    assert StartOfDayMapper().carry_partition_date(moment) is None
    allowed = AllowedKeyMapper(["us", "eu", "apac"])
    assert allowed.downstream_keys("eu") == ["eu"]
    with pytest.raises(
        InvalidPartitionKeyError,
        match=r"AllowedKeyMapper: partition key 'mars' is not one of the allowed keys \('us', 'eu', 'apac'\)",
    ):
        allowed.downstream_keys("mars")
    assert FixedKeyMapper("all_regions").downstream_keys("us") == ["all_regions"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: FixedKeyMapper(""),
            r"FixedKeyMapper downstream_key must be a non-empty string, got ''",
        ),
        (
            lambda: AllowedKeyMapper("us"),
            r"AllowedKeyMapper allowed_keys must be a list of keys, got 'us'",
        ),
        (lambda: AllowedKeyMapper([]), r"AllowedKeyMapper allowed_keys: give at least one key"),
        (lambda: AllowedKeyMapper(["us", 1]), r"allowed_keys must be non-empty strings, got 1"),
        (
            lambda: IdentityMapper(max_downstream_keys=-1),
            r"IdentityMapper max_downstream_keys .* got -1",
        ),
        (lambda: IdentityMapper(max_downstream_keys=True), r"got True"),
        (
            lambda: ProductMapper(IdentityMapper(), "day"),
            r"ProductMapper mapper 1 must be a PartitionMapper .* got 'day'",
        ),
        (
            lambda: ProductMapper(IdentityMapper(), IdentityMapper(), delimiter=""),
            r"ProductMapper delimiter must be a non-empty string",
        ),
        (
            lambda: ChainMapper(IdentityMapper(), IdentityMapper, IdentityMapper()),
            r"ChainMapper mapper 1 must be a PartitionMapper",
        ),
        (
            lambda: RollupMapper(upstream_mapper=None, window=DayWindow()),
            r"RollupMapper upstream_mapper must be a PartitionMapper",
        ),
        (
            lambda: RollupMapper(upstream_mapper=StartOfDayMapper(), window="day"),
            r"RollupMapper window must be a Window",
        ),
        (
            lambda: RollupMapper(
                upstream_mapper=StartOfDayMapper(), window=DayWindow(), wait_policy=3
            ),
            r"RollupMapper wait_policy must be a WaitPolicy",
        ),
        (
            lambda: FanOutMapper(upstream_mapper=StartOfWeekMapper(), window=None),
            r"FanOutMapper window must be a Window",
        ),
        (
            lambda: FanOutMapper(
                upstream_mapper=StartOfWeekMapper(), window=WeekWindow(), downstream_mapper="day"
            ),
            r"FanOutMapper downstream_mapper must be a PartitionMapper",
        ),
    ],
)
def test_bad_definitions_name_the_class_and_argument(make: Any, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        make()


# --- product and chain --------------------------------------------------------------------


def test_a_product_maps_each_part_with_its_mapper() -> None:
    product = ProductMapper(IdentityMapper(), StartOfDayMapper())
    assert product.downstream_keys("us|2026-06-14T03:00:00") == ["us|2026-06-14"]
    assert product.to_partition_date("us|2026-06-14") == datetime(2026, 6, 14, tzinfo=UTC)
    assert product.to_partition_date("us") is None
    slashed = ProductMapper(AllowedKeyMapper(["us"]), StartOfMonthMapper(), delimiter="/")
    assert slashed.to_downstream("us/2026-06-14T03:00:00") == "us/2026-06"
    two_dates = ProductMapper(StartOfDayMapper(), StartOfDayMapper())
    assert two_dates.to_partition_date("2026-06-14|2026-06-15") is None


def test_product_errors_name_the_part() -> None:
    product = ProductMapper(IdentityMapper(), StartOfDayMapper())
    with pytest.raises(
        InvalidPartitionKeyError,
        match=r"ProductMapper: partition key 'us' has 1 part\(s\) separated by '\|', not 2",
    ):
        product.downstream_keys("us")
    with pytest.raises(
        InvalidPartitionKeyError,
        match=r"ProductMapper: part 1 of partition key 'us\|yesterday': StartOfDayMapper cannot map partition key 'yesterday'",
    ):
        product.downstream_keys("us|yesterday")
    fan = FanOutMapper(upstream_mapper=StartOfWeekMapper(), window=WeekWindow())
    with pytest.raises(
        InvalidPartitionKeyError,
        match=r"part 1 .* maps to 7 keys with FanOutMapper; each part needs one",
    ):
        ProductMapper(IdentityMapper(), fan).downstream_keys(f"us|{KEY}")


def test_a_chain_applies_its_mappers_in_turn() -> None:
    chain = ChainMapper(StartOfHourMapper(), StartOfDayMapper(input_format="%Y-%m-%dT%H"))
    assert chain.downstream_keys(KEY) == ["2024-03-13"]
    assert chain.to_partition_date("2024-03-13") == datetime(2024, 3, 13, tzinfo=UTC)
    weekly_then_allowed = ChainMapper(
        FanOutMapper(upstream_mapper=StartOfWeekMapper(), window=WeekWindow()),
        AllowedKeyMapper(["2024-03-11", "2024-03-12"]),
    )
    with pytest.raises(
        InvalidPartitionKeyError, match=r"'2024-03-13' is not one of the allowed keys"
    ):
        weekly_then_allowed.downstream_keys(KEY)
    to_days = ChainMapper(
        FanOutMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow()),
        StartOfDayMapper(input_format="%Y-%m-%dT%H"),
        max_downstream_keys=1,
    )
    assert to_days.downstream_keys(KEY) == ["2024-03-13"]  # 24 hours, one day


# --- fan-out ------------------------------------------------------------------------------

WEEK = [f"2024-03-{day}" for day in range(11, 18)]


def test_a_weekly_key_fans_out_to_seven_days() -> None:
    fan = FanOutMapper(
        upstream_mapper=StartOfWeekMapper(), window=WeekWindow(), max_downstream_keys=7
    )
    assert fan.downstream_keys(KEY) == WEEK
    assert fan.downstream_keys("2024-03-11T00:00:00") == WEEK
    assert fan.downstream_mapper == StartOfDayMapper()
    assert fan.to_partition_date("2024-03-12") == datetime(2024, 3, 12, tzinfo=UTC)
    back = FanOutMapper(
        upstream_mapper=StartOfWeekMapper(), window=WeekWindow(direction=Window.Direction.BACKWARD)
    )
    assert back.downstream_keys("2024-03-11T00:00:00") == [
        f"2024-03-{day:02d}" for day in range(5, 12)
    ]


def test_fan_out_defaults_and_limits() -> None:
    day = FanOutMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow())
    assert day.downstream_keys(KEY)[:2] == ["2024-03-13T00", "2024-03-13T01"]
    assert len(day.downstream_keys(KEY)) == 24
    month = FanOutMapper(upstream_mapper=StartOfMonthMapper(), window=MonthWindow())
    assert len(month.downstream_keys("2024-02-10T00:00:00")) == 29
    quarter = FanOutMapper(upstream_mapper=StartOfQuarterMapper(), window=QuarterWindow())
    assert quarter.downstream_keys(KEY) == ["2024-01", "2024-02", "2024-03"]
    year = FanOutMapper(upstream_mapper=StartOfYearMapper(), window=YearWindow())
    assert year.downstream_keys(KEY)[-1] == "2024-12"
    capped = FanOutMapper(
        upstream_mapper=StartOfWeekMapper(), window=WeekWindow(), max_downstream_keys=3
    )
    with pytest.raises(
        InvalidPartitionKeyError,
        match=r"FanOutMapper maps partition key '2024-03-13T10:42:15' to 7 keys, more than its max_downstream_keys=3",
    ):
        capped.downstream_keys(KEY)
    with pytest.raises(
        DagDefinitionError,
        match=r"FanOutMapper has no default downstream_mapper for window HourWindow",
    ):
        FanOutMapper(upstream_mapper=StartOfHourMapper(), window=HourWindow())
    minutes = FanOutMapper(
        upstream_mapper=StartOfHourMapper(),
        window=HourWindow(),
        downstream_mapper=StartOfHourMapper(output_format="%Y-%m-%dT%H:%M"),
    )
    assert minutes.downstream_keys(KEY)[59] == "2024-03-13T10:59"


def test_fan_out_over_segments() -> None:
    fan = FanOutMapper(
        upstream_mapper=FixedKeyMapper("all"),
        window=SegmentWindow(["us", "eu", "apac"]),
        downstream_mapper=IdentityMapper(),
    )
    assert fan.downstream_keys("anything") == ["apac", "eu", "us"]


# --- rollups ------------------------------------------------------------------------------


def test_a_daily_rollup_expects_the_24_hourly_keys() -> None:
    rollup = RollupMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow())
    assert rollup.is_rollup and not StartOfDayMapper().is_rollup
    assert rollup.wait_policy == WaitForAll()
    assert rollup.downstream_keys("2024-03-13T05:00:00") == ["2024-03-13"]
    expected = rollup.to_upstream("2024-03-13")
    assert expected == {f"2024-03-13T{hour:02d}:00:00" for hour in range(24)}
    assert rollup.to_partition_date("2024-03-13") == datetime(2024, 3, 13, tzinfo=UTC)
    short = RollupMapper(
        upstream_mapper=StartOfDayMapper(input_format="%Y-%m-%dT%H"), window=DayWindow()
    )
    assert "2024-03-13T07" in short.to_upstream("2024-03-13")


def test_rollups_in_a_time_zone_with_offsets_in_keys() -> None:
    rollup = RollupMapper(
        upstream_mapper=StartOfDayMapper(timezone="Europe/Paris", input_format="%Y-%m-%dT%H%z"),
        window=DayWindow(),
    )
    assert sorted(rollup.to_upstream("2024-03-13"))[:2] == [
        "2024-03-13T00+0100",
        "2024-03-13T01+0100",
    ]
    assert rollup.downstream_keys("2024-03-12T23+0000") == ["2024-03-13"]
    spring_forward = rollup.to_upstream("2024-03-31")  # 02:00 does not exist that night
    assert len(spring_forward) == 23
    assert "2024-03-31T03+0200" in spring_forward


def test_a_monthly_rollup_expects_each_day() -> None:
    rollup = RollupMapper(
        upstream_mapper=StartOfMonthMapper(input_format="%Y-%m-%d"),
        window=MonthWindow(),
        wait_policy=MinimumCount(-2),
    )
    assert rollup.downstream_keys("2024-02-10") == ["2024-02"]
    february = rollup.to_upstream("2024-02")
    assert len(february) == 29
    assert {"2024-02-01", "2024-02-29"} <= february
    assert len(rollup.to_upstream("2023-02")) == 28
    assert len(rollup.to_upstream("2024-01")) == 31
    assert rollup.wait_policy.is_satisfied_by_keys(
        matched=set(sorted(february)[2:]), expected=february
    )
    quarterly = RollupMapper(
        upstream_mapper=StartOfQuarterMapper(input_format="%Y-%m"), window=QuarterWindow()
    )
    assert quarterly.to_upstream("2024-Q2") == {"2024-04", "2024-05", "2024-06"}


def test_a_segment_rollup_waits_for_every_segment() -> None:
    rollup = RollupMapper(
        upstream_mapper=FixedKeyMapper("all_regions"), window=SegmentWindow(["us", "eu", "apac"])
    )
    assert rollup.downstream_keys("eu") == ["all_regions"]
    assert rollup.to_upstream("all_regions") == {"us", "eu", "apac"}
    assert rollup.to_partition_date("all_regions") is None
    product = RollupMapper(
        upstream_mapper=ProductMapper(IdentityMapper(), IdentityMapper()),
        window=SegmentWindow(["us|a", "us|b"]),
    )
    assert product.to_upstream("x") == {"us|a", "us|b"}


def test_a_window_and_upstream_mapper_must_agree_on_the_decoded_type() -> None:
    with pytest.raises(
        DagDefinitionError,
        match=r"RollupMapper window DayWindow lists datetime members but upstream_mapper IdentityMapper decodes keys to str",
    ):
        RollupMapper(upstream_mapper=IdentityMapper(), window=DayWindow())
    with pytest.raises(
        DagDefinitionError,
        match=r"window SegmentWindow lists str members but upstream_mapper StartOfDayMapper decodes keys to datetime",
    ):
        RollupMapper(upstream_mapper=StartOfDayMapper(), window=SegmentWindow(["us"]))


def test_a_key_a_rollup_cannot_decode() -> None:
    rollup = RollupMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow())
    with pytest.raises(
        InvalidPartitionKeyError, match=r"RollupMapper cannot list the upstream keys of 'March'"
    ):
        rollup.to_upstream("March")


# --- mappers of one's own -----------------------------------------------------------------


class PrefixStripMapper(PartitionMapper):
    """A mapper written for Airflow (serialize/deserialize): strips ``prefix::``."""

    def __init__(
        self, prefix: str, *, separator: str = "::", max_downstream_keys: int | None = None
    ) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.prefix = prefix
        self.separator = separator

    def to_downstream(self, key: str) -> str:
        return key.removeprefix(self.prefix + self.separator)

    def serialize(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "separator": self.separator}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> PrefixStripMapper:
        return cls(data["prefix"], separator=data.get("separator", "::"))


class SplitMapper(PartitionMapper):
    """A mapper of one's own that gives several keys (duplicates too), or fails."""

    def __init__(self, *, keep_empty: bool = False) -> None:
        super().__init__()
        self.keep_empty = keep_empty

    def to_downstream(self, key: str) -> Iterable[str]:
        if key == "boom":
            raise KeyError("no such thing")
        return (part for part in key.split(",") if part or self.keep_empty)

    def to_json_data(self) -> dict[str, Any]:
        return {"keep_empty": self.keep_empty}

    @classmethod
    def from_json_data(cls, data: dict[str, Any]) -> SplitMapper:
        return cls(keep_empty=data["keep_empty"])


def test_mappers_of_ones_own() -> None:
    split = SplitMapper()
    assert split.downstream_keys("b,a,b,,c") == ["b", "a", "c"]
    with pytest.raises(
        InvalidPartitionKeyError,
        match=r"SplitMapper cannot map partition key 'boom': KeyError: 'no such thing'",
    ):
        split.downstream_keys("boom")
    with pytest.raises(
        InvalidPartitionKeyError, match=r"SplitMapper.to_downstream returned '', not a key"
    ):
        SplitMapper(keep_empty=True).downstream_keys("a,")
    assert PrefixStripMapper("eu").downstream_keys("eu::daily") == ["daily"]


def test_decode_and_encode_must_be_overridden_together() -> None:
    with pytest.raises(
        DagDefinitionError,
        match=r"HalfMapper overrides only one of decode_downstream and encode_upstream",
    ):

        class HalfMapper(IdentityMapper):
            def decode_downstream(self, downstream_key: str) -> Any:
                return int(downstream_key)


# --- JSON ---------------------------------------------------------------------------------

EVERY_MAPPER: list[PartitionMapper] = [
    IdentityMapper(),
    IdentityMapper(max_downstream_keys=2),
    AllowedKeyMapper(["us", "eu"]),
    FixedKeyMapper("all", max_downstream_keys=1),
    StartOfHourMapper(timezone="Europe/Paris"),
    StartOfDayMapper(input_format="%Y-%m-%d %H"),
    StartOfWeekMapper(output_format="%G-W%V"),
    StartOfMonthMapper(timezone="+05:30"),
    StartOfQuarterMapper(),
    StartOfYearMapper(max_downstream_keys=4),
    ProductMapper(IdentityMapper(), StartOfDayMapper(), AllowedKeyMapper(["x"]), delimiter="/"),
    ChainMapper(StartOfHourMapper(), StartOfDayMapper(input_format="%Y-%m-%dT%H")),
    FanOutMapper(
        upstream_mapper=StartOfWeekMapper(),
        window=WeekWindow(direction=Window.Direction.BACKWARD),
        max_downstream_keys=7,
    ),
    FanOutMapper(
        upstream_mapper=StartOfHourMapper(), window=HourWindow(), downstream_mapper=IdentityMapper()
    ),
    RollupMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow()),
    RollupMapper(
        upstream_mapper=FixedKeyMapper("all"),
        window=SegmentWindow(["eu", "us"]),
        wait_policy=MinimumCount(1),
    ),
    PrefixStripMapper("eu", separator="/"),
    ProductMapper(SplitMapper(keep_empty=True), PrefixStripMapper("us")),
]


@pytest.mark.parametrize("mapper", EVERY_MAPPER, ids=repr)
def test_every_mapper_round_trips_through_json(mapper: PartitionMapper) -> None:
    import json

    stored = json.loads(json.dumps(mapper_to_json(mapper)))
    back = mapper_from_json(stored)
    assert back == mapper
    assert type(back) is type(mapper)
    assert back.to_json() == stored
    assert hash(back) == hash(mapper)
    assert repr(back) == repr(mapper)


def test_the_json_form() -> None:
    assert StartOfDayMapper(timezone="Europe/Paris").to_json() == {
        "kind": "start_of_day",
        "timezone": "Europe/Paris",
        "input_format": "%Y-%m-%dT%H:%M:%S",
        "output_format": "%Y-%m-%d",
    }
    assert RollupMapper(
        upstream_mapper=FixedKeyMapper("all"), window=SegmentWindow(["us"])
    ).to_json() == {
        "kind": "rollup",
        "upstream_mapper": {"kind": "fixed_key", "downstream_key": "all"},
        "window": {"kind": "segment", "segments": ["us"]},
        "wait_policy": {"kind": "wait_for_all"},
    }
    assert PrefixStripMapper("eu").to_json() == {
        "classpath": f"{__name__}.PrefixStripMapper",
        "data": {"prefix": "eu", "separator": "::"},
    }
    assert ProductMapper(IdentityMapper(), IdentityMapper(max_downstream_keys=1)).to_json() == {
        "kind": "product",
        "mappers": [{"kind": "identity"}, {"kind": "identity", "max_downstream_keys": 1}],
        "delimiter": "|",
    }


def test_equality_is_by_value() -> None:
    assert StartOfDayMapper() == StartOfDayMapper(output_format="%Y-%m-%d")
    assert StartOfDayMapper() != StartOfDayMapper(timezone="Europe/Paris")
    assert StartOfDayMapper() != StartOfHourMapper()
    assert PrefixStripMapper("eu") != PrefixStripMapper("us")
    assert AllowedKeyMapper(["a"]) != FixedKeyMapper("a")


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (
            {"kind": "start_of_fortnight"},
            r"unknown partition mapper kind 'start_of_fortnight' \(known: allowed_key, chain,",
        ),
        (
            {"kind": "start_of_day", "timezone": "UTC"},
            r"stored partition mapper 'start_of_day' lacks the field 'input_format'",
        ),
        (
            {
                "kind": "start_of_day",
                "timezone": "Nowhere/City",
                "input_format": "%Y",
                "output_format": "%Y-%m-%d",
            },
            r"'start_of_day' is malformed: StartOfDayMapper timezone 'Nowhere/City' is not a time zone",
        ),
        (
            {"kind": "product", "mappers": [{"kind": "identity"}]},
            r"'product' is malformed: ProductMapper mappers must be a list of at least two",
        ),
        (
            {"kind": "rollup", "upstream_mapper": {"kind": "identity"}, "window": {"kind": "day"}},
            r"'rollup' is malformed: RollupMapper window DayWindow lists datetime members",
        ),
        (
            {
                "kind": "rollup",
                "upstream_mapper": {"kind": "identity"},
                "window": {"kind": "week", "direction": 3},
            },
            r"'week' is malformed: WeekWindow direction must be",
        ),
        (
            {"kind": "fixed_key", "downstream_key": 7},
            r"'fixed_key' is malformed: FixedKeyMapper downstream_key must be a non-empty string",
        ),
        (
            {"kind": "identity", "max_downstream_keys": "3"},
            r"'identity' is malformed: IdentityMapper max_downstream_keys",
        ),
        (
            {"classpath": f"{__name__}.PrefixStripMapper", "data": {}},
            r"partition mapper PrefixStripMapper lacks the field 'prefix'",
        ),
        (
            {"classpath": "headwater.authoring.partition_windows.DayWindow"},
            r"'headwater.authoring.partition_windows.DayWindow' is not a PartitionMapper",
        ),
        ({"classpath": f"{__name__}.Missing"}, r"classpath '.*Missing' is not a PartitionMapper"),
        ([], r"a stored partition mapper must be a JSON object, got \[\]"),
    ],
)
def test_malformed_stored_mappers_say_what_is_wrong(stored: Any, message: str) -> None:
    with pytest.raises(PartitionJsonError, match=message) as raised:
        mapper_from_json(stored)
    assert isinstance(raised.value, HeadwaterError) and isinstance(raised.value, ValueError)


# --- Airflow's example --------------------------------------------------------------------


def test_the_mappers_of_airflows_partitioned_asset_example() -> None:
    """The mappers example_asset_partition.py (Airflow 3.3) builds, and what they do."""
    assert StartOfHourMapper().downstream_keys("2026-06-14T03:00:00") == ["2026-06-14T03"]
    assert StartOfYearMapper().downstream_keys("2026-06-14T03:00:00") == ["2026"]
    regional = ProductMapper(IdentityMapper(), StartOfDayMapper())
    assert [
        regional.downstream_keys(f"{r}|2026-06-14T03:00:00")[0] for r in ("us", "eu", "apac")
    ] == [
        "us|2026-06-14",
        "eu|2026-06-14",
        "apac|2026-06-14",
    ]
    assert AllowedKeyMapper(["us", "eu", "apac"]).downstream_keys("apac") == ["apac"]
    daily = RollupMapper(
        upstream_mapper=StartOfDayMapper(), window=DayWindow(), wait_policy=WaitForAll()
    )
    assert len(daily.to_upstream(daily.downstream_keys("2026-06-14T03:00:00")[0])) == 24
    monthly = RollupMapper(
        upstream_mapper=StartOfMonthMapper(input_format="%Y-%m-%d"), window=MonthWindow()
    )
    assert len(monthly.to_upstream(monthly.downstream_keys("2026-06-14")[0])) == 30
    weekly = FanOutMapper(
        upstream_mapper=StartOfWeekMapper(), window=WeekWindow(), max_downstream_keys=7
    )
    assert weekly.downstream_keys("2026-06-15T00:00:00") == [f"2026-06-{d}" for d in range(15, 22)]
    trailing = FanOutMapper(
        upstream_mapper=StartOfWeekMapper(), window=WeekWindow(direction=Window.Direction.BACKWARD)
    )
    assert trailing.downstream_keys("2026-06-15T00:00:00") == [
        f"2026-06-{d:02d}" for d in range(9, 16)
    ]
    regions = RollupMapper(
        upstream_mapper=FixedKeyMapper("all_regions"), window=SegmentWindow(["us", "eu", "apac"])
    )
    assert regions.to_upstream("all_regions") == {"us", "eu", "apac"}
