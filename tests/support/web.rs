//! The approval inbox under test, and what drives it:
//!
//! - [`InboxProcess`]: the real `approvals` binary on a free loopback port;
//! - [`Browser`]: a headless Chromium (Debian's, or Chrome on a Mac: [`chrome`]), driven
//!   through ChromeDriver (WebDriver) by fantoccini, as a person's browser would be;
//! - [`http`]: a bare HTTP/1.1 request, for what no browser sends (a GET where a POST
//!   belongs, a POST without the form's token).

use crate::{DevServer, binary, free_port};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::{
    io::{Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Where Debian puts Chromium and its driver (`apt-get install chromium chromium-driver`): the
/// browser and driver the tests use unless `INVOICE_TEST_CHROME` and
/// `INVOICE_TEST_CHROMEDRIVER` name others (scripts/test finds them, on a Mac too).
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The Chrome or Chromium the tests drive: `INVOICE_TEST_CHROME`, else [`CHROMIUM`].
pub fn chrome() -> String {
    from_env_or("INVOICE_TEST_CHROME", CHROMIUM)
}

/// The ChromeDriver that drives it: `INVOICE_TEST_CHROMEDRIVER`, else [`CHROMEDRIVER`].
pub fn chromedriver() -> String {
    from_env_or("INVOICE_TEST_CHROMEDRIVER", CHROMEDRIVER)
}

fn from_env_or(variable: &str, default: &str) -> String {
    std::env::var(variable)
        .ok()
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The real `approvals` binary, serving one dev server's invoices.
pub struct InboxProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl InboxProcess {
    pub fn start(server: &DevServer, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(server.dir().join("approvals.log"))
            .expect("inbox log");
        let child = Command::new(binary("approvals"))
            .envs(server.env())
            .env("INVOICE_INBOX_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(log.try_clone().expect("inbox log"))
            .stderr(log)
            .spawn()
            .expect("start the approvals binary");
        let inbox = InboxProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        await_port(port, "the approval inbox");
        inbox
    }
}

impl Drop for InboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until something listens on `port`; fails the test after 20 s.
fn await_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not come up on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A headless Chromium, through its WebDriver.
pub struct Browser {
    driver: Child,
    pub client: Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        let (chrome, chromedriver) = (chrome(), chromedriver());
        for (needed, variable) in [
            (&chrome, "INVOICE_TEST_CHROME"),
            (&chromedriver, "INVOICE_TEST_CHROMEDRIVER"),
        ] {
            assert!(
                std::path::Path::new(needed).exists(),
                "{needed} is missing: install Chrome or Chromium and ChromeDriver (Debian, \
                 Ubuntu: apt-get install chromium chromium-driver; macOS: brew install --cask \
                 google-chrome chromedriver) and run scripts/test, which finds them, or set \
                 {variable} to the right path"
            );
        }
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        await_port(port, "chromedriver");
        // Two TLS back ends are linked in (the Temporal client's and the WebDriver client's);
        // the WebDriver connection is plain HTTP, but rustls wants one chosen all the same.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let profile = tempfile::tempdir().expect("a browser profile");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chrome,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let client = tokio::time::timeout(
            Duration::from_secs(60),
            ClientBuilder::rustls()
                .expect("a TLS setup for the WebDriver client")
                .capabilities(capabilities)
                .connect(&format!("http://127.0.0.1:{port}")),
        )
        .await
        .expect("Chromium started within 60 s")
        .expect("a WebDriver session");
        Browser {
            driver,
            client,
            _profile: profile,
        }
    }

    /// Opens `url` and answers the page's visible text.
    pub async fn open(&self, url: &str) -> String {
        within(self.client.goto(url)).await.expect("open the page");
        self.text().await
    }

    /// The visible text of the page, once it has one (a page still loading has no body yet).
    pub async fn text(&self) -> String {
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            let text =
                within(async { self.client.find(Locator::Css("body")).await?.text().await }).await;
            match text {
                Ok(text) => return text,
                Err(error) => assert!(Instant::now() < deadline, "the page's text: {error}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `action`, which leads to another page, and answers that page's text: it waits
    /// until the page it started on is gone, so the text is never the old page's.
    async fn leading_away(
        &self,
        what: &str,
        action: impl std::future::Future<Output = Result<(), fantoccini::error::CmdError>>,
    ) -> String {
        let old = within(self.client.find(Locator::Css("html")))
            .await
            .expect("the page");
        within(action)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let deadline = Instant::now() + STEP_LIMIT;
        while within(old.tag_name()).await.is_ok() {
            assert!(Instant::now() < deadline, "{what} led nowhere");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.text().await
    }

    /// Types into the field with this id.
    pub async fn fill(&self, id: &str, text: &str) {
        within(async {
            self.client
                .find(Locator::Id(id))
                .await?
                .send_keys(text)
                .await
        })
        .await
        .unwrap_or_else(|e| panic!("fill #{id}: {e}"));
    }

    /// Clicks the button with this id, and answers the text of the page it leads to.
    pub async fn click(&self, id: &str) -> String {
        let click = async { self.client.find(Locator::Id(id)).await?.click().await };
        self.leading_away(&format!("click #{id}"), click).await
    }

    /// Clicks the link with this text, and answers the text of the page it leads to.
    pub async fn follow(&self, text: &str) -> String {
        let click = async {
            self.client
                .find(Locator::LinkText(text))
                .await?
                .click()
                .await
        };
        self.leading_away(&format!("follow {text:?}"), click).await
    }

    /// Whether an element with this id is on the page.
    pub async fn has(&self, id: &str) -> bool {
        within(self.client.find_all(Locator::Id(id)))
            .await
            .map(|found| !found.is_empty())
            .unwrap_or(false)
    }

    /// A PNG of what the browser shows.
    pub async fn screenshot(&self) -> Vec<u8> {
        within(self.client.screenshot())
            .await
            .expect("a screenshot")
    }

    pub async fn close(self) {
        let _ = within(self.client.clone().close()).await;
        let mut driver = self.driver;
        let _ = driver.kill();
        let _ = driver.wait();
    }
}

/// The longest one browser step may take.
const STEP_LIMIT: Duration = Duration::from_secs(30);

/// Every browser step is bounded: a page that never loads fails the test, not hangs it.
async fn within<T>(step: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP_LIMIT, step)
        .await
        .expect("a browser step took over 30 s")
}

/// One HTTP/1.1 request to `url` (`http://host:port/path`); answers the status code and the
/// body. `form` is sent as `application/x-www-form-urlencoded`.
pub fn http(
    method: &str,
    url: &str,
    form: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).expect("connect to the inbox");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    let body = form.unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        request.push_str(&format!("Host: {host}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if form.is_some() {
        request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The value of the form's hidden token in a page's HTML.
pub fn form_token(html: &str) -> Option<String> {
    let at = html.find("name=\"token\" value=\"")? + "name=\"token\" value=\"".len();
    html[at..].split('"').next().map(str::to_owned)
}
