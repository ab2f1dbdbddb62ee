//! An `enqueue` sent as a multipart form (`curl -F file=@indata.txt -F task=default -F name=...`),
//! which the original turns into job data of type `file`.

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use super::enqueue::JobData;

/// A form's text fields, and the uploaded file's bytes.
pub(crate) struct Form {
    pub fields: Map<String, Value>,
    pub file: Option<Vec<u8>>,
}

impl Form {
    /// The job data the upload makes, when it has a file.
    pub(crate) fn job_data(self) -> Option<JobData> {
        let text = |key: &str| {
            self.fields
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Some(JobData {
            task: text("task").unwrap_or_else(|| "default".to_owned()),
            name: text("name"),
            data: self.file?,
            kind: "file".to_owned(),
        })
    }
}

/// The form, when the request is `multipart/form-data`; why it cannot be read, when it cannot.
pub(crate) async fn read(headers: &HeaderMap, body: &Bytes) -> Option<Result<Form, String>> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let boundary = multer::parse_boundary(content_type).ok()?;
    let body = body.clone();
    let stream = futures_lite::stream::once(Ok::<Bytes, std::convert::Infallible>(body));
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut form = Form {
        fields: Map::new(),
        file: None,
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Some(Ok(form)),
            Err(error) => return Some(Err(format!("Failed read uploaded form: {error}"))),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => return Some(Err(format!("Failed read uploaded form: {error}"))),
        };
        if name == "file" {
            form.file = Some(bytes.to_vec());
        } else {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            form.fields.insert(name, Value::String(text));
        }
    }
}
