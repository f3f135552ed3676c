# shellcheck shell=bash
# Sourced by scripts/test: the inbox tests drive a headless Chrome or Chromium through
# ChromeDriver. This finds both and exports their paths as INVOICE_TEST_CHROME and
# INVOICE_TEST_CHROMEDRIVER, which tests/support/web.rs reads (set either beforehand to choose
# another). Looked for: Debian's /usr/bin/chromium and /usr/bin/chromedriver; on a Mac, Google
# Chrome or Chromium in /Applications and Homebrew's chromedriver on PATH; then chromium,
# google-chrome and chromedriver on PATH. Where either is missing and apt-get exists, Debian's
# chromium and chromium-driver are installed (as root, or through sudo); elsewhere it says what
# to install. The tests themselves download nothing.
# Needs scripts/lib/apt.sh sourced first.

# The first of the arguments that names an executable file.
browser_first_executable() {
  local candidate
  for candidate in "$@"; do
    if [ -n "$candidate" ] && [ -f "$candidate" ] && [ -x "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

browser_find_chrome() {
  if [ -n "${INVOICE_TEST_CHROME:-}" ]; then
    browser_first_executable "$INVOICE_TEST_CHROME"
    return
  fi
  browser_first_executable /usr/bin/chromium \
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" \
    "/Applications/Chromium.app/Contents/MacOS/Chromium" \
    "$HOME/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" \
    "$HOME/Applications/Chromium.app/Contents/MacOS/Chromium" \
    "$(command -v chromium || true)" \
    "$(command -v google-chrome || true)" \
    "$(command -v google-chrome-stable || true)" \
    "$(command -v chromium-browser || true)"
}

browser_find_driver() {
  if [ -n "${INVOICE_TEST_CHROMEDRIVER:-}" ]; then
    browser_first_executable "$INVOICE_TEST_CHROMEDRIVER"
    return
  fi
  browser_first_executable /usr/bin/chromedriver \
    "$(command -v chromedriver || true)" \
    "$(command -v chromium.chromedriver || true)"
}

# Says what is missing and how to get it.
browser_missing() {
  local what=""
  browser_find_chrome >/dev/null || what="Chrome or Chromium"
  if ! browser_find_driver >/dev/null; then
    what="${what:+$what and }ChromeDriver"
  fi
  echo "error: the inbox tests need $what, and none was found." >&2
  if [ -n "${INVOICE_TEST_CHROME:-}" ] && ! browser_find_chrome >/dev/null; then
    echo "  INVOICE_TEST_CHROME=$INVOICE_TEST_CHROME is not an executable file." >&2
  fi
  if [ -n "${INVOICE_TEST_CHROMEDRIVER:-}" ] && ! browser_find_driver >/dev/null; then
    echo "  INVOICE_TEST_CHROMEDRIVER=$INVOICE_TEST_CHROMEDRIVER is not an executable file." >&2
  fi
  if [ "$(uname -s)" = Darwin ]; then
    echo "  Install them with Homebrew:  brew install --cask google-chrome chromedriver" >&2
    echo "  (if macOS then refuses to open chromedriver: xattr -d com.apple.quarantine \"\$(command -v chromedriver)\")" >&2
  else
    echo "  On Debian or Ubuntu:  sudo apt-get install chromium chromium-driver" >&2
  fi
  echo "  Or point INVOICE_TEST_CHROME and INVOICE_TEST_CHROMEDRIVER at a browser and its driver." >&2
}

if ! browser_find_chrome >/dev/null || ! browser_find_driver >/dev/null; then
  if [ -z "${INVOICE_TEST_CHROME:-}${INVOICE_TEST_CHROMEDRIVER:-}" ] \
    && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium and chromium-driver for the inbox tests (one time)..." >&2
    apt_install chromium chromium-driver
  fi
  if ! browser_find_chrome >/dev/null || ! browser_find_driver >/dev/null; then
    browser_missing
    return 1
  fi
fi
INVOICE_TEST_CHROME=$(browser_find_chrome)
INVOICE_TEST_CHROMEDRIVER=$(browser_find_driver)
export INVOICE_TEST_CHROME INVOICE_TEST_CHROMEDRIVER
echo "==> The inbox tests drive $INVOICE_TEST_CHROME through $INVOICE_TEST_CHROMEDRIVER"
