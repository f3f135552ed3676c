//! stdin and stdout for rmcp, with one guard between them: every request gets an answer, even
//! one that is valid JSON but that no JSON-RPC decoder here can read. serde_json refuses a
//! number no 64-bit float can hold (`1e400`), so rmcp would drop such a request as garbage
//! and its caller would wait forever; the guard answers it with a JSON-RPC error instead.
//!
//! Lines from stdin go to rmcp unchanged unless they are such a request. Lines from rmcp and
//! the guard's own answers go to stdout one whole line at a time, from one task.

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream},
    sync::mpsc,
    task::JoinHandle,
};

/// The buffer between the guard and rmcp, each way.
const PIPE_BYTES: usize = 256 * 1024;
/// JSON-RPC's code for a request whose parameters cannot be used.
const INVALID_PARAMS: i64 = -32602;

/// What rmcp reads and writes, and the task that copies rmcp's answers to stdout (await it
/// after the service ends, so that the last answer is flushed).
pub struct Guarded {
    pub input: DuplexStream,
    pub output: DuplexStream,
    pub writer: JoinHandle<()>,
}

/// Starts the guard on the process's stdin and stdout.
pub fn guarded() -> Guarded {
    let (input, mut feed) = tokio::io::duplex(PIPE_BYTES);
    let (output, from_rmcp) = tokio::io::duplex(PIPE_BYTES);
    let (answers, mut answered) = mpsc::unbounded_channel::<String>();

    tokio::spawn(async move {
        let mut stdin = BufReader::new(tokio::io::stdin());
        let mut line = Vec::new();
        loop {
            line.clear();
            // Bytes, not text: a line that is not UTF-8 is rmcp's to refuse, not a reason to
            // stop reading.
            match stdin.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if let Some(answer) = std::str::from_utf8(&line).ok().and_then(unreadable_request) {
                tracing::warn!("answered a request rmcp cannot read: {answer}");
                let _ = answers.send(answer);
                continue;
            }
            if feed.write_all(&line).await.is_err() {
                break;
            }
        }
        // End of stdin: rmcp sees it too, and ends the session.
        let _ = feed.shutdown().await;
    });

    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        let mut from_rmcp = BufReader::new(from_rmcp).lines();
        loop {
            let line = tokio::select! {
                // The guard's answers first: none may be left behind when rmcp ends.
                biased;
                Some(answer) = answered.recv() => answer,
                line = from_rmcp.next_line() => match line {
                    Ok(Some(line)) => line,
                    _ => match answered.try_recv() {
                        Ok(answer) => answer,
                        Err(_) => break,
                    },
                },
            };
            let written = async {
                stdout.write_all(line.as_bytes()).await?;
                stdout.write_all(b"\n").await?;
                stdout.flush().await
            };
            if written.await.is_err() {
                break;
            }
        }
    });

    Guarded {
        input,
        output,
        writer,
    }
}

/// Only the parts of a message needed to answer it; serde skips the rest without reading its
/// numbers, so this succeeds where a full decode fails.
#[derive(Deserialize)]
struct Envelope {
    id: Option<Value>,
    method: Option<String>,
}

/// The answer to `line` if it is a request (an id and a method) that is well-formed JSON but
/// cannot be decoded; `None` for everything rmcp can judge for itself.
fn unreadable_request(line: &str) -> Option<String> {
    let error = serde_json::from_str::<Value>(line).err()?;
    let envelope = serde_json::from_str::<Envelope>(line).ok()?;
    let (id, method) = (envelope.id?, envelope.method?);
    let answer = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": INVALID_PARAMS,
            "message": format!(
                "{method}: the request cannot be read ({error}); numbers must fit a 64-bit float"
            ),
        },
    });
    Some(answer.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_out_of_range_gets_an_error_answer() {
        let line = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"process_invoice","arguments":{"invoice_data":{"id":"A","lines":[{"item":"x","amount":1e400}]}}}}"#;
        let answer: Value = serde_json::from_str(&unreadable_request(line).unwrap()).unwrap();
        assert_eq!(answer["id"], 9);
        assert_eq!(answer["error"]["code"], INVALID_PARAMS);
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("number out of range"),
            "{answer}"
        );
    }

    #[test]
    fn everything_else_is_left_to_rmcp() {
        for line in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/x","params":{"n":1e400}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"n":1e400}}"#,
            "not json",
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/li"#,
        ] {
            assert_eq!(unreadable_request(line), None, "{line}");
        }
    }
}
