#!/bin/sh
# dermaudit-nightly.sh: the nightly dermaudit scan, for cron or a systemd timer.
#
# Written by `dermaudit init --cron` (the same script is scripts/dermaudit-nightly.sh in the
# source). Cron runs a job with an almost empty environment, so every path below is absolute.
#
#   crontab -e:  MAILTO=billing@practice.example
#                30 2 * * * /srv/derm/dermaudit-nightly.sh
#
# Every run:
# - scans INPUT with WORKDIR/dermaudit.toml (baseline, state file, waivers, fail-on);
# - writes reports/dermaudit-<date>-<time>.txt (the mail text) and .html, each atomically;
# - prints the one-line summary and the text report, which cron mails ("Nothing new" when
#   all is well), or the error and the last log lines when the scan failed;
# - appends dermaudit's log lines to logs/dermaudit.log, rotated at 1 MB (KEEP_LOGS kept);
# - keeps the newest KEEP_REPORTS reports of each kind and deletes the older ones;
# - exits with dermaudit's code: 0 nothing new at or above fail-on, 1 new problems, 2 error.
set -u

DERMAUDIT="/path/to/venv/bin/dermaudit"   # the dermaudit of your venv
WORKDIR="/srv/derm"       # holds dermaudit.toml; reports/ and logs/ are made here
INPUT="/srv/derm/exports/charges.csv"           # one growing export, or a folder of daily exports
KEEP_REPORTS=30
KEEP_LOGS=5
WAIT=900                  # seconds to wait if the previous night's run is still going

PATH=/usr/bin:/bin
export PATH
umask 077                 # reports name claims: readable by this user only
cd "$WORKDIR" || exit 2
mkdir -p reports logs || exit 2
log=logs/dermaudit.log

if [ -f "$log" ] && [ "$(wc -c <"$log")" -gt 1000000 ]; then
    i=$KEEP_LOGS
    while [ "$i" -gt 1 ]; do
        j=$((i - 1))
        if [ -f "$log.$j" ]; then mv -f "$log.$j" "$log.$i"; fi
        i=$j
    done
    mv -f "$log" "$log.1"
fi

report="reports/dermaudit-$(date +%Y-%m-%d-%H%M%S)"
summary=$("$DERMAUDIT" scan "$INPUT" --config "$WORKDIR/dermaudit.toml" \
    --format text --output "$report.txt" --html "$report.html" \
    --summary-line --log --wait "$WAIT" 2>>"$log")
code=$?
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) exit $code: $summary" >>"$log"

if [ -f "$report.txt" ]; then
    printf '%s\n\n' "$summary"
    cat "$report.txt"
else
    echo "dermaudit: the nightly scan failed (exit $code); the last lines of $WORKDIR/$log:"
    tail -n 5 "$log"
fi

for ext in txt html; do
    n=0
    for f in $(ls -1r reports/dermaudit-*."$ext" 2>/dev/null); do
        n=$((n + 1))
        if [ "$n" -gt "$KEEP_REPORTS" ]; then rm -f "$f"; fi
    done
done
# temporary files of a run that was killed (dermaudit writes every file atomically)
find reports -name '.dermaudit-*.part' -mmin +1440 -exec rm -f {} + 2>/dev/null

exit $code
