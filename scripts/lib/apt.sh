# shellcheck shell=bash
# Sourced: apt_install PACKAGE... installs Debian's packages, as root or through sudo, with one
# `apt-get update` per run. Only for systems that have apt-get (Debian, Ubuntu; CI).

apt_updated=""

apt_as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "error: installing Debian's packages needs root: run this as root, or install sudo" >&2
    return 1
  fi
}

apt_install() {
  if [ -z "$apt_updated" ]; then
    apt_as_root apt-get update -qq >/dev/null
    apt_updated=1
  fi
  apt_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
