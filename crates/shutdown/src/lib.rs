//! Ctrl-C and SIGTERM, listened for from the start of a process to its end, so that a stop
//! request that arrives while nothing is waiting for it (during start-up, say) is not lost.
//! The worker and the approval inbox stop on either; the MCP server stops when its client
//! closes stdin.

/// Ctrl-C or SIGTERM, listened for from the start of the process to its end, so that one that
/// arrives while nothing is waiting for it is not lost.
#[derive(Clone)]
pub struct StopSignal(tokio::sync::watch::Receiver<bool>);

impl StopSignal {
    pub fn install() -> Self {
        let (requested, receiver) = tokio::sync::watch::channel(false);
        // Both handlers are in place before this returns, not when the task first runs.
        #[cfg(unix)]
        let (mut interrupt, mut terminate) = {
            use tokio::signal::unix::{SignalKind, signal};
            (
                signal(SignalKind::interrupt()).expect("installing the SIGINT handler"),
                signal(SignalKind::terminate()).expect("installing the SIGTERM handler"),
            )
        };
        tokio::spawn(async move {
            #[cfg(unix)]
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
            let _ = requested.send(true);
        });
        Self(receiver)
    }

    /// Resolves once a stop was asked for, at any time since [`Self::install`].
    pub async fn requested(&self) {
        let mut receiver = self.0.clone();
        let _ = receiver.wait_for(|requested| *requested).await;
    }
}
