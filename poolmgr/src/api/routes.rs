//! The route table: every route is added through [`Routes`], which builds
//! the axum router and records its (method, path) in the same call, so the
//! list that [`super::routes`] hands out is the router itself, not a copy
//! kept beside it. The OpenAPI document is checked against that list.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, delete, get, post};

use super::AppState;

/// Routes under construction: the router, and the (method, path) of each
/// route it has.
pub struct Routes {
    router: Router<AppState>,
    served: Vec<(&'static str, &'static str)>,
}

impl Routes {
    /// No routes yet.
    pub fn new() -> Routes {
        Routes {
            router: Router::new(),
            served: Vec::new(),
        }
    }

    /// `GET path`.
    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("GET", path, get(handler))
    }

    /// `POST path`.
    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add("POST", path, post(handler))
    }

    /// `DELETE path`.
    pub fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.add("DELETE", path, delete(handler))
    }

    /// These routes and `other`'s.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.served.extend(other.served);
        self
    }

    /// (method, path) of every route, in the order they were added.
    pub fn served(&self) -> &[(&'static str, &'static str)] {
        &self.served
    }

    /// The router.
    pub fn into_router(self) -> Router<AppState> {
        self.router
    }

    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        route: MethodRouter<AppState>,
    ) -> Self {
        self.router = self.router.route(path, route);
        self.served.push((method, path));
        self
    }
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}
