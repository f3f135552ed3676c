#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The children's `sh -c` scripts are single-quoted on purpose: their $0, $1 are theirs.
# shellcheck disable=SC2016
# Runs scripts/lib/supervise.sh for real, as scripts/up does, for tests/e2e/setup.rs:
#
#   supervised.sh DIR NAME[:MODE]...
#
# starts one process per NAME, in order, under supervision, then writes DIR/watching and
# watches them. Each process first writes its pid to DIR/NAME.pid, then, by MODE:
#   stay (the default)  runs until it is stopped
#   exit=N              exits by itself with status N once DIR/NAME.go exists
#   stubborn            runs, ignoring SIGTERM, until it is killed
#   catches-int         runs until stopped, and exits by itself on Ctrl-C, as the real programs
#                       do (so a Ctrl-C that reached it would show)
set -euo pipefail
dir=$1
shift
supervise_label="supervised.sh"
supervise_farewell="Stopped everything."
source "$(dirname "$0")/../../scripts/lib/supervise.sh"
supervise_traps

# The pid file appears whole: written aside, then renamed.
announce='echo $$ >"$0.tmp" && mv "$0.tmp" "$0"'
for spec in "$@"; do
  name=${spec%%:*}
  mode=stay
  case $spec in *:*) mode=${spec#*:} ;; esac
  case $mode in
    stay)
      supervise_start "$name" sh -c "$announce"' && exec sleep 600' "$dir/$name.pid"
      ;;
    exit=*)
      supervise_start "$name" sh -c "$announce"'
        while [ ! -e "$1" ]; do sleep 0.02; done
        exit "$2"' "$dir/$name.pid" "$dir/$name.go" "${mode#exit=}"
      ;;
    catches-int)
      # As the real programs do (tokio's signal handling): Ctrl-C handled, whatever was ignored.
      supervise_start "$name" python3 -c '
import os, signal, sys, time
pid_file = sys.argv[1]
with open(pid_file + ".tmp", "w") as out:
    out.write(str(os.getpid()))
os.rename(pid_file + ".tmp", pid_file)
signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
time.sleep(600)' "$dir/$name.pid"
      ;;
    stubborn)
      supervise_start "$name" sh -c 'trap "" TERM; '"$announce"' && exec sleep 600' "$dir/$name.pid"
      ;;
    *)
      echo "supervised.sh: unknown mode $mode" >&2
      exit 2
      ;;
  esac
done
echo "$$" >"$dir/watching"
supervise_watch || exit
