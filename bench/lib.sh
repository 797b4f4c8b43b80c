# Shared by the bench scripts: `. "$here/lib.sh"` after setting `runs`.

median() { # command...: prints the median wall time in seconds over $runs runs
  python3 - "$runs" "$@" <<'PY'
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
times = []
for _ in range(runs):
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times.append(time.perf_counter() - start)
print(f"{statistics.median(times):.3f}")
PY
}

paired() { # old_binary new_binary args...: runs both $runs times in alternation (old, new, old,
  # new, ...) so that both see the same machine load; prints "old_median new_median new/old".
  # Output goes to a file: some tools stop at the first match when stdout is /dev/null.
  python3 - "$runs" "$@" <<'PY'
import statistics, subprocess, sys, tempfile, time
runs, old, new, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
times = ([], [])
with tempfile.TemporaryFile() as sink:
    for _ in range(runs):
        for which, binary in enumerate((old, new)):
            sink.seek(0)
            sink.truncate()
            start = time.perf_counter()
            subprocess.run([binary, *args], stdout=sink, stderr=subprocess.DEVNULL)
            times[which].append(time.perf_counter() - start)
o, n = statistics.median(times[0]), statistics.median(times[1])
print(f"{o:.3f} {n:.3f} {n / o:.3f}")
PY
}
