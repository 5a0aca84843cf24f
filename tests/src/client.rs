//! A browser-like HTTP client: a cookie jar, no automatic redirects (tests look at
//! them), and the CSRF token of the last HTML page it loaded, sent with every POST.

use std::sync::{Arc, Mutex};

use reqwest::cookie::{CookieStore, Jar};
use scraper::{Html, Selector};

/// One user's browser.
pub struct Client {
    http: reqwest::Client,
    base: String,
    csrf: Mutex<Option<String>>,
    jar: Arc<Jar>,
}

/// Where [`Client::post_multipart_token`] puts the CSRF token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenIn {
    /// A `_csrf` field before every other part, as the app's upload forms send it.
    FirstField,
    /// A `_csrf` field after the other parts.
    LastField,
    /// The `X-CSRF-Token` header, as htmx sends it.
    Header,
    /// Nowhere.
    Missing,
}

/// A file for [`Client::post_multipart`]: file name, media type, content.
pub type FilePart<'a> = (&'a str, &'a str, Vec<u8>);

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Page {
    /// HTTP status.
    pub status: u16,
    /// `Location` of a redirect.
    pub location: Option<String>,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: String,
}

impl Page {
    /// Texts of the elements matching a CSS selector, whitespace-trimmed.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let doc = Html::parse_document(&self.body);
        let sel = Selector::parse(css).expect("valid selector");
        doc.select(&sel)
            .map(|e| {
                e.text()
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// An attribute of every element matching a selector.
    pub fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        let doc = Html::parse_document(&self.body);
        let sel = Selector::parse(css).expect("valid selector");
        doc.select(&sel)
            .filter_map(|e| e.value().attr(attr).map(str::to_owned))
            .collect()
    }

    /// The error message shown under a form field.
    pub fn field_error(&self, field: &str) -> Option<String> {
        self.texts(&format!("#f-{field}-error")).into_iter().next()
    }

    /// The value of a form input as rendered.
    pub fn input_value(&self, field: &str) -> Option<String> {
        self.attrs(&format!("#f-{field}"), "value")
            .into_iter()
            .next()
    }

    /// The form-wide alert text.
    pub fn alert(&self) -> Option<String> {
        self.texts(".alert").into_iter().next()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

impl Client {
    /// A fresh browser for the app at `base`.
    pub fn new(base: &str) -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            csrf: Mutex::new(None),
            jar,
        }
    }

    fn base_url(&self) -> url::Url {
        url::Url::parse(&format!("{}/", self.base)).expect("base URL")
    }

    /// The value of a cookie this browser would send to the app, if it holds one.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let header = self.jar.cookies(&self.base_url())?;
        header.to_str().ok()?.split("; ").find_map(|pair| {
            pair.split_once('=')
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| v.to_owned())
        })
    }

    /// Puts a cookie into this browser's jar (e.g. to replay an old session id).
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &self.base_url());
    }

    /// The CSRF token this browser would send with its next POST.
    pub fn csrf(&self) -> Option<String> {
        self.csrf.lock().ok().and_then(|c| c.clone())
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn read(&self, resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.text().await.unwrap_or_default();
        let page = Page {
            status,
            location,
            headers,
            body,
        };
        if let Some(token) = page.attrs("input[name=_csrf]", "value").into_iter().next()
            && let Ok(mut csrf) = self.csrf.lock()
        {
            *csrf = Some(token);
        }
        page
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> Page {
        let resp = self.http.get(self.url(path)).send().await.expect("GET");
        self.read(resp).await
    }

    /// GET a path as htmx does (`HX-Request`), which answers with a fragment.
    pub async fn get_htmx(&self, path: &str) -> Page {
        let resp = self
            .http
            .get(self.url(path))
            .header("HX-Request", "true")
            .send()
            .await
            .expect("GET");
        self.read(resp).await
    }

    /// GET a path and follow redirects (up to 5).
    pub async fn get_follow(&self, path: &str) -> Page {
        let mut page = self.get(path).await;
        for _ in 0..5 {
            match (&page.status, page.location.clone()) {
                (301..=308, Some(next)) => page = self.get(&next).await,
                _ => break,
            }
        }
        page
    }

    async fn token(&self) -> String {
        let current = self.csrf.lock().ok().and_then(|c| c.clone());
        match current {
            Some(token) => token,
            None => {
                self.get("/login").await;
                self.csrf
                    .lock()
                    .ok()
                    .and_then(|c| c.clone())
                    .expect("a CSRF token from /login")
            }
        }
    }

    /// POST a form with the CSRF token, as a browser submitting a page's form.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.token().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &token));
        let resp = self
            .http
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .expect("POST");
        self.read(resp).await
    }

    /// POST a form with a given `_csrf` field (e.g. a forged or stale token).
    pub async fn post_with_token(&self, path: &str, fields: &[(&str, &str)], token: &str) -> Page {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", token));
        let resp = self
            .http
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .expect("POST");
        self.read(resp).await
    }

    /// POST as htmx does, with a given `X-CSRF-Token` header.
    pub async fn post_htmx_with_token(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        token: &str,
    ) -> Page {
        let resp = self
            .http
            .post(self.url(path))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", token)
            .form(fields)
            .send()
            .await
            .expect("POST");
        self.read(resp).await
    }

    /// POST a form without any CSRF token.
    pub async fn post_without_csrf(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let resp = self
            .http
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST");
        self.read(resp).await
    }

    /// POST as htmx does: `HX-Request` and the token in `X-CSRF-Token`.
    pub async fn post_htmx(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.token().await;
        let resp = self
            .http
            .post(self.url(path))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", token)
            .form(fields)
            .send()
            .await
            .expect("POST");
        self.read(resp).await
    }

    /// POST a `multipart/form-data` form as a browser submits an upload form: the CSRF
    /// token first, then the text fields, then the files (all in the `files` field).
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[FilePart<'_>],
    ) -> Page {
        self.post_multipart_token(path, fields, files, TokenIn::FirstField)
            .await
    }

    /// [`Client::post_multipart`] with the CSRF token where `token_in` says.
    pub async fn post_multipart_token(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[FilePart<'_>],
        token_in: TokenIn,
    ) -> Page {
        let token = self.token().await;
        let mut form = reqwest::multipart::Form::new();
        if token_in == TokenIn::FirstField {
            form = form.text("_csrf", token.clone());
        }
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        for (file_name, content_type, bytes) in files {
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(file_name.to_string())
                .mime_str(content_type)
                .expect("a valid media type");
            form = form.part("files", part);
        }
        if token_in == TokenIn::LastField {
            form = form.text("_csrf", token.clone());
        }
        let mut request = self.http.post(self.url(path)).multipart(form);
        if token_in == TokenIn::Header {
            request = request.header("X-CSRF-Token", token);
        }
        let resp = request.send().await.expect("POST multipart");
        self.read(resp).await
    }

    /// POST a `multipart/form-data` upload form with one file in the field `file_field`
    /// (the CSRF token first, as the browser sends the form).
    pub async fn upload(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file_field: &str,
        (file_name, content_type, bytes): FilePart<'_>,
    ) -> Page {
        let token = self.token().await;
        let mut form = reqwest::multipart::Form::new().text("_csrf", token);
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str(content_type)
            .expect("a valid media type");
        form = form.part(file_field.to_string(), part);
        let resp = self
            .http
            .post(self.url(path))
            .multipart(form)
            .send()
            .await
            .expect("POST multipart");
        self.read(resp).await
    }

    /// GET a path and return the raw response bytes (for downloads), with status and
    /// headers.
    pub async fn get_bytes(&self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let resp = self.http.get(self.url(path)).send().await.expect("GET");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body").to_vec();
        (status, headers, bytes)
    }

    /// Sends a request with any method (for method-level checks).
    pub async fn request(&self, method: reqwest::Method, path: &str) -> Page {
        let resp = self
            .http
            .request(method, self.url(path))
            .send()
            .await
            .expect("request");
        self.read(resp).await
    }
}
