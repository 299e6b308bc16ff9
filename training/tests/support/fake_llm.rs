//! A local OpenAI-compatible chat-completions server for tests: it listens on 127.0.0.1, answers
//! every request by a rule the test gives, and records what it was sent and how many requests were
//! in flight at once. No network beyond loopback.

#![allow(dead_code)]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// What the server does with one request.
pub enum Reply {
    /// 200 with this assistant text.
    Text(String),
    /// An error status with a body (and a `Retry-After: 0` header for 429).
    Status(u16),
    /// This status and these bytes as the body, whatever they are.
    Raw(u16, Vec<u8>),
    /// A 200 whose body is cut off: the headers promise the whole answer, the connection closes
    /// after this many bytes.
    CutOff(usize),
    /// This assistant text, after this long (longer than the client waits, to test its timeout).
    Slow(Duration, String),
}

type Rule = dyn Fn(&Value, usize) -> Reply + Send + Sync;

/// A running fake server.
pub struct FakeLlm {
    /// Its base URL (`http://127.0.0.1:PORT/v1`).
    pub url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    authorizations: Arc<Mutex<Vec<String>>>,
    max_in_flight: Arc<AtomicUsize>,
    server: Arc<tiny_http::Server>,
}

/// The numbers of the options listed in the request's last user message (`N: ...` lines).
pub fn listed(request: &Value) -> Vec<u32> {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user" && m["content"].as_str().is_some_and(|c| c.contains("Your options:")));
    let text = user.and_then(|m| m["content"].as_str()).unwrap_or("");
    let options = text.split("Your options:").nth(1).unwrap_or("");
    options.lines().filter_map(|l| l.split_once(": ").and_then(|(n, _)| n.trim().parse().ok())).collect()
}

/// The rule most tests use: the first listed option, as the style's format asks.
pub fn first_listed(request: &Value, _count: usize) -> Reply {
    let first = listed(request).first().copied().unwrap_or(0);
    let cot = request["messages"][1]["content"].as_str().unwrap_or("").contains("JSON object");
    Reply::Text(if cot { format!("The first option looks best.\n{{\"action\": {first}}}") } else { first.to_string() })
}

impl FakeLlm {
    /// Starts a server answering by `rule(request, index of the request)`, sleeping `delay` per request.
    pub fn start(delay: Duration, rule: impl Fn(&Value, usize) -> Reply + Send + Sync + 'static) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server.server_addr().to_ip().map(|a| a.port()).expect("an IP address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let (in_flight, max_in_flight) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let rule: Arc<Rule> = Arc::new(rule);
        {
            let (server, requests, max_in_flight) =
                (Arc::clone(&server), Arc::clone(&requests), Arc::clone(&max_in_flight));
            let authorizations = Arc::clone(&authorizations);
            std::thread::spawn(move || {
                for mut request in server.incoming_requests() {
                    let auth = request.headers().iter().find(|h| h.field.equiv("Authorization"));
                    authorizations.lock().expect("lock").push(auth.map_or(String::new(), |h| h.value.to_string()));
                    let (requests, rule, in_flight, max_in_flight) =
                        (Arc::clone(&requests), Arc::clone(&rule), Arc::clone(&in_flight), Arc::clone(&max_in_flight));
                    std::thread::spawn(move || {
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        max_in_flight.fetch_max(now, Ordering::SeqCst);
                        let mut body = String::new();
                        let _ = request.as_reader().read_to_string(&mut body);
                        let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                        let index = {
                            let mut r = requests.lock().expect("lock");
                            r.push(value.clone());
                            r.len() - 1
                        };
                        std::thread::sleep(delay);
                        let response = match rule(&value, index) {
                            Reply::Text(text) => tiny_http::Response::from_string(
                                json!({
                                    "id": format!("fake-{index}"),
                                    "object": "chat.completion",
                                    "model": value["model"],
                                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                                    "usage": {"prompt_tokens": body.len() / 4, "completion_tokens": text.len() / 4 + 1, "total_tokens": body.len() / 4 + text.len() / 4 + 1},
                                })
                                .to_string(),
                            ),
                            Reply::Raw(code, bytes) => tiny_http::Response::from_data(bytes).with_status_code(code),
                            Reply::CutOff(n) => {
                                let whole = json!({"choices": [{"message": {"role": "assistant", "content": "1"}}]}).to_string();
                                let part = whole.as_bytes()[..n.min(whole.len() - 1)].to_vec();
                                let response = tiny_http::Response::new(
                                    tiny_http::StatusCode(200),
                                    vec![tiny_http::Header::from_bytes("Connection", "close").expect("header")],
                                    std::io::Cursor::new(part),
                                    Some(whole.len()),
                                    None,
                                );
                                in_flight.fetch_sub(1, Ordering::SeqCst);
                                let _ = request.respond(response);
                                return;
                            }
                            Reply::Slow(wait, text) => {
                                std::thread::sleep(wait);
                                tiny_http::Response::from_string(
                                    json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}).to_string(),
                                )
                            }
                            Reply::Status(code) => {
                                let r = tiny_http::Response::from_string(json!({"error": {"message": format!("fake status {code}")}}).to_string())
                                    .with_status_code(code);
                                if code == 429 { r.with_header(tiny_http::Header::from_bytes("Retry-After", "0").expect("header")) } else { r }
                            }
                        };
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        let _ = request.respond(response);
                    });
                }
            });
        }
        Self { url: format!("http://127.0.0.1:{port}/v1"), requests, authorizations, max_in_flight, server }
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().expect("lock").clone()
    }

    /// The `Authorization` header of every request (empty where there was none).
    pub fn authorizations(&self) -> Vec<String> {
        self.authorizations.lock().expect("lock").clone()
    }

    /// The most requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
