//! A small HTTP server of the test's own on a free loopback port (hyper, as the control room
//! serves /metrics), recording what was POSTed to it: a webhook's receiver that answers
//! 200, answers 500, or never answers.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

#[derive(Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Takes the request and never answers: the sender's timeout ends it.
    Never,
}

pub struct Recorder {
    pub port: u16,
    /// Every request's body, in order of arrival (recorded before it is answered).
    pub bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl Recorder {
    pub async fn start(answer: Answer) -> Recorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let kept = bodies.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let kept = kept.clone();
                        async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            kept.lock().unwrap().push(body.to_vec());
                            let status = match answer {
                                Answer::Status(s) => s,
                                Answer::Never => {
                                    std::future::pending::<()>().await;
                                    unreachable!()
                                }
                            };
                            let mut r = Response::new(Full::new(Bytes::from_static(b"ok")));
                            *r.status_mut() = StatusCode::from_u16(status).unwrap();
                            Ok::<_, hyper::Error>(r)
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Recorder { port, bodies, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The bodies received so far, each parsed as JSON.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| serde_json::from_slice(b).unwrap_or(serde_json::Value::Null))
            .collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
