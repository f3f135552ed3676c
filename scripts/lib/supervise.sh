# shellcheck shell=bash
# Sourced: starts long-running processes in the background and watches over them, on any bash
# from 3.2 (macOS's /bin/bash) on, so nothing newer than 3.2 is used here (no `wait -n`).
#
#   supervise_traps                      Ctrl-C, SIGTERM, SIGHUP and any exit stop what was started
#   supervise_start NAME COMMAND [ARG...]  runs COMMAND in the background (redirect the call to
#                                        redirect its output) and remembers it as NAME
#   supervise_watch                      waits until one of them exits by itself, says which and
#                                        how, and returns 1 (the caller then exits, which stops
#                                        the rest)
#
# Each process runs in a process group of its own, so a Ctrl-C in the terminal reaches the
# script only. Whatever way the script ends, the processes still running are stopped newest
# first (the worker before the server it talks to): SIGTERM, then up to $SUPERVISE_GRACE
# seconds (10) for each to exit before SIGKILL. A script stopped by Ctrl-C exits 130 (SIGTERM: 143, SIGHUP: 129);
# one whose process exited by itself exits 1.
#
# Settings, read when the script ends: supervise_label (who is speaking, "scripts/up") and
# supervise_farewell (a last line, printed when anything had been started).

supervise_names=()
supervise_pids=()
supervise_label=${supervise_label:-$(basename "$0")}
supervise_farewell=${supervise_farewell:-}
supervise_grace=${SUPERVISE_GRACE:-10}
# How often supervise_watch looks (seconds): it is also how long a signal may wait for the
# trap when it reaches this shell alone, while a poll is sleeping.
supervise_poll=${SUPERVISE_POLL:-0.5}

supervise_traps() {
  trap supervise_on_exit EXIT
  trap 'supervise_on_signal INT 130' INT
  trap 'supervise_on_signal TERM 143' TERM
  trap 'supervise_on_signal HUP 129' HUP
}

supervise_start() {
  local name=$1
  shift
  # In a process group of its own (job control on for the start only): a Ctrl-C in the
  # terminal then reaches this script alone, which stops everything newest first, rather than
  # every process at once, each racing the others to the exit.
  set -m
  "$@" &
  set +m
  supervise_pids+=("$!")
  supervise_names+=("$name")
}

supervise_watch() {
  local i pid status
  while :; do
    for ((i = 0; i < ${#supervise_pids[@]}; i++)); do
      pid=${supervise_pids[i]}
      [ -n "$pid" ] || continue
      # The shell reaps its children as they exit, so a pid that no longer answers is gone.
      if ! kill -0 "$pid" 2>/dev/null; then
        status=0
        wait "$pid" 2>/dev/null || status=$?
        supervise_pids[i]=""
        echo "${supervise_names[i]} (pid $pid) exited by itself ($(supervise_status "$status")): $supervise_label stops the rest." >&2
        return 1
      fi
    done
    sleep "$supervise_poll"
  done
}

# Stops every process still running, newest first.
supervise_stop_all() {
  local i
  for ((i = ${#supervise_pids[@]} - 1; i >= 0; i--)); do
    [ -n "${supervise_pids[i]}" ] || continue
    supervise_stop "${supervise_names[i]}" "${supervise_pids[i]}"
    supervise_pids[i]=""
  done
}

supervise_stop() {
  local name=$1 pid=$2 polls=0 status=0
  if kill -TERM "$pid" 2>/dev/null; then
    while kill -0 "$pid" 2>/dev/null; do
      polls=$((polls + 1))
      if [ "$polls" -gt "$((supervise_grace * 10))" ]; then
        echo "  $name (pid $pid) did not stop within ${supervise_grace} s of SIGTERM: killing it" >&2
        kill -KILL "$pid" 2>/dev/null
        break
      fi
      sleep 0.1
    done
  fi
  wait "$pid" 2>/dev/null || status=$?
  echo "  stopped $name (pid $pid; $(supervise_status "$status"))" >&2
}

# "status 3", or "status 143, SIGTERM" for 128 + a signal's number.
supervise_status() {
  local name
  if [ "$1" -gt 128 ] && name=$(kill -l "$(($1 - 128))" 2>/dev/null); then
    echo "status $1, SIG${name#SIG}"
  else
    echo "status $1"
  fi
}

supervise_on_signal() {
  echo "" >&2
  echo "$supervise_label got SIG$1: stopping everything it started." >&2
  exit "$2"
}

supervise_on_exit() {
  local code=$?
  trap - EXIT
  # Stopping is bounded (SUPERVISE_GRACE per process): another Ctrl-C does not cut it short.
  trap '' INT TERM HUP
  set +e
  if [ "${#supervise_names[@]}" -gt 0 ]; then
    supervise_stop_all
    if [ -n "$supervise_farewell" ]; then echo "$supervise_farewell" >&2; fi
  fi
  exit "$code"
}
