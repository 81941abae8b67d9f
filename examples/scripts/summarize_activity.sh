#!/usr/bin/env bash
# Summarise one day of user activity with standard shell tools.
#
# headwater renders this file with Jinja before running it, so {{ ds }} is the day being
# processed and {{ params.top_n }} the run's param. EVENTS_FILE (the CSV written by the
# fetch_events task: event_id,user_id,event_type,timestamp) comes from the task's `env`.
#
# It writes three tab-separated files into a `summary` folder next to the CSV:
#   totals.tsv          events <n> / users <n>
#   events_by_type.tsv  <event type> <count>, most frequent first
#   top_users.tsv       <user> <count>, the most active users first
# and prints that folder last: the last line of output becomes the task's value.
set -euo pipefail
export LC_ALL=C  # byte-wise, locale-independent sorting

day="{{ ds }}"
top_n="{{ params.top_n }}"
summary_dir="$(dirname "$EVENTS_FILE")/summary"
mkdir -p "$summary_dir"

echo "Summarising activity of $day from $EVENTS_FILE"

# Every event's timestamp must fall on the day we are processing.
wrong_day=$(tail -n +2 "$EVENTS_FILE" | cut -d, -f4 | grep -vc "^$day" || true)
if [ "$wrong_day" -ne 0 ]; then
    echo "error: $wrong_day event(s) are not from $day" >&2
    exit 1
fi

events=$(tail -n +2 "$EVENTS_FILE" | wc -l)
users=$(tail -n +2 "$EVENTS_FILE" | cut -d, -f2 | sort -u | wc -l)
printf 'events\t%d\nusers\t%d\n' "$events" "$users" > "$summary_dir/totals.tsv"

# count per value: `uniq -c` prints "<count> <value>"; awk swaps the columns; ties by name.
tail -n +2 "$EVENTS_FILE" | cut -d, -f3 | sort | uniq -c \
    | awk '{ printf "%s\t%d\n", $2, $1 }' | sort -t "$(printf '\t')" -k2,2nr -k1,1 \
    > "$summary_dir/events_by_type.tsv"

tail -n +2 "$EVENTS_FILE" | cut -d, -f2 | sort | uniq -c \
    | awk '{ printf "%s\t%d\n", $2, $1 }' | sort -t "$(printf '\t')" -k2,2nr -k1,1 \
    | head -n "$top_n" > "$summary_dir/top_users.tsv"

echo "Events by type on $day:"
cat "$summary_dir/events_by_type.tsv"
echo "$events events from $users users"
echo "$summary_dir"
