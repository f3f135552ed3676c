# Sourced by scripts/test: the inbox tests drive Debian's Chromium through ChromeDriver. When
# either is missing they are installed from Debian's packages (as root, or through sudo);
# nothing is downloaded at run time.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "Installing Debian's chromium and chromium-driver for the inbox tests (one time)..." >&2
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
fi
