//! The yardstick: what a Rust function costs with lambda_http and nothing else.

use lambda_http::{service_fn, Body, Request, Response};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::run(service_fn(|_req: Request| async {
        Ok::<_, std::convert::Infallible>(
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::Text("{\"ok\":true}".into()))
                .unwrap_or_default(),
        )
    }))
    .await
}
