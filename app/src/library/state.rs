//! The library panel's state: what it lists, what is open and how, and its banners. The list is
//! loaded by a Leptos action; a newer search or reload aborts the one in flight, so an older
//! answer never replaces a newer one. Everything here is `Copy`: signals and handles only.

use std::future::Future;

use jarvis_types::documents::{DocumentRef, DocumentView, FileItem, Library};
use leptos::prelude::*;

use super::server_fns::{load_document, load_document_version, load_library};
use crate::error::AppError;

/// What the panel shows besides the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Document(DocumentView),
    File(FileItem),
}

/// How the open document is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    View,
    Edit,
    History,
}

/// A document that cannot be found, as the user who opens it from a link (a reply's card, the
/// list before it reloaded) reads it: it was deleted (or, the same to them, never theirs).
fn gone(error: AppError) -> AppError {
    match error {
        AppError::NotFound(_) => AppError::NotFound("This document no longer exists: it was deleted.".into()),
        other => other,
    }
}

/// Where the focus goes once the panel has changed under it (the control used went away with
/// what it was part of): taken by the view that shows it, once in the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaneFocus {
    /// The open document's title (it was opened from the list or a reply's card).
    Title,
    /// The open document's View tab (after a save or a restore, which show the new version).
    ViewTab,
    /// The list's row of this document (back from it).
    ListRow(String),
    /// The list's search box (back from a document deleted, whose row is gone).
    ListSearch,
}

/// Sort orders of the library list, as the UI names them.
pub const SORTS: [(&str, &str); 3] =
    [("updated", "Recently changed"), ("title", "Title"), ("created", "Newest")];

/// The list's query: sort order and search text.
type ListQuery = (String, String);

/// Everything the panel shows. `Copy`: signals only.
#[derive(Clone, Copy)]
pub struct LibraryState {
    /// The list as last loaded (the server's rendering to begin with).
    pub library: RwSignal<Library>,
    pub query: RwSignal<String>,
    pub sort: RwSignal<String>,
    pub opened: RwSignal<Option<Opened>>,
    pub mode: RwSignal<Mode>,
    /// The editor's text while editing (kept across a refused save).
    pub draft: RwSignal<String>,
    /// A newer version saved (by a run) while the open document is being edited.
    pub newer: RwSignal<Option<i32>>,
    /// The open document is an earlier version (opened from the card of the reply that saved
    /// it): the version it is at now. Read-only then: View and History, and a way to the latest.
    pub latest: RwSignal<Option<i32>>,
    /// Where the focus goes next (see [`PaneFocus`]).
    pub focus: RwSignal<Option<PaneFocus>>,
    pub notice: RwSignal<Option<String>>,
    pub error: RwSignal<Option<String>>,
    pub uploading: RwSignal<bool>,
    /// Loads the list for a query.
    list: Action<ListQuery, Result<Library, AppError>>,
    /// The list load in flight, aborted by the next one.
    loading: StoredValue<Option<leptos::prelude::ActionAbortHandle>>,
}

impl LibraryState {
    pub fn new(library: Library) -> Self {
        let list = Action::new_local(|(sort, query): &ListQuery| load_library(sort.clone(), query.clone()));
        let state = Self {
            library: RwSignal::new(library),
            query: RwSignal::new(String::new()),
            sort: RwSignal::new("updated".to_owned()),
            opened: RwSignal::new(None),
            mode: RwSignal::new(Mode::View),
            draft: RwSignal::new(String::new()),
            newer: RwSignal::new(None),
            latest: RwSignal::new(None),
            focus: RwSignal::new(None),
            notice: RwSignal::new(None),
            error: RwSignal::new(None),
            uploading: RwSignal::new(false),
            list,
            loading: StoredValue::new(None),
        };
        // Runs in the browser only (effects do not run on the server).
        Effect::new(move |_| match list.value().get() {
            Some(Ok(library)) => state.library.set(library),
            Some(Err(error)) => state.fail(error),
            None => {}
        });
        state
    }

    /// Loads the list again with the current search and sort.
    pub fn reload(&self) {
        let query = (self.sort.get_untracked(), self.query.get_untracked());
        let handle = self.list.dispatch(query);
        if let Some(older) = self.loading.try_update_value(|loading| loading.replace(handle)).flatten() {
            older.abort();
        }
    }

    /// Shows `error`'s sentence in the panel's alert.
    pub fn fail(&self, error: AppError) {
        self.error.set(Some(error.to_string()));
    }

    /// Runs a server call in the browser: its answer goes to `done`, its error to the alert. A call
    /// that succeeds takes away the alert of one that failed before (a rename refused, then done).
    pub fn run<T: 'static>(
        &self,
        call: impl Future<Output = Result<T, AppError>> + 'static,
        done: impl FnOnce(T) + 'static,
    ) {
        let state = *self;
        leptos::task::spawn_local(async move {
            match call.await {
                Ok(value) => {
                    state.error.set(None);
                    done(value)
                }
                Err(error) => state.fail(error),
            }
        });
    }

    /// Opens a document by id, in the viewer, with the focus on its title (the user opened it).
    pub fn open_document(&self, id: String) {
        let state = *self;
        self.run(async move { load_document(id).await.map_err(gone) }, move |document| {
            state.focus.set(Some(PaneFocus::Title));
            state.show(document)
        });
    }

    /// Opens a document as it was at `version` (a reply's card says which version it saved):
    /// the latest one as [`Self::open_document`] does, an earlier one read-only.
    pub fn open_document_at(&self, id: String, version: i32) {
        let state = *self;
        self.run(
            async move { load_document_version(id, version).await.map_err(gone) },
            move |(document, latest)| {
                state.focus.set(Some(PaneFocus::Title));
                let earlier = document.version != latest;
                state.show(document);
                if earlier {
                    state.latest.set(Some(latest));
                }
            },
        );
    }

    /// Shows `document` (just loaded or saved) in the viewer.
    pub fn show(&self, document: DocumentView) {
        self.draft.set(document.content.clone());
        self.latest.set(None);
        self.opened.set(Some(Opened::Document(document)));
        self.mode.set(Mode::View);
        self.newer.set(None);
        self.error.set(None);
    }

    /// Back to the list, with the focus on the row of what was open.
    pub fn close(&self) {
        if let Some(id) = self.open_id() {
            self.focus.set(Some(PaneFocus::ListRow(id)));
        }
        self.opened.set(None);
        self.mode.set(Mode::View);
        self.newer.set(None);
        self.latest.set(None);
        self.error.set(None);
    }

    /// Takes where the focus should go, when `matches` says it is a place the caller shows.
    pub fn take_focus(&self, matches: impl Fn(&PaneFocus) -> bool) -> Option<PaneFocus> {
        let wanted = self.focus.with_untracked(|focus| focus.as_ref().is_some_and(&matches));
        if wanted { self.focus.try_update(Option::take).flatten() } else { None }
    }

    /// Something changed in the library: say so, and load the list again.
    pub fn changed(&self, notice: String) {
        self.notice.set(Some(notice));
        self.reload();
    }

    fn open_id(&self) -> Option<String> {
        match self.opened.get_untracked() {
            Some(Opened::Document(document)) => Some(document.id),
            _ => None,
        }
    }

    /// A run saved a document: the list reloads; the open document follows unless the user is
    /// editing it, in which case they are told and their draft stays, or looking at an earlier
    /// version, which stays with the newest number to go to. The focus stays where it is.
    pub fn saved(&self, document: DocumentRef) {
        self.reload();
        if self.open_id().as_deref() != Some(document.id.as_str()) {
            return;
        }
        if self.mode.get_untracked() == Mode::Edit {
            self.newer.set(Some(document.version));
        } else if self.latest.get_untracked().is_some() {
            self.latest.set(Some(document.version));
        } else {
            let state = *self;
            self.run(load_document(document.id), move |document| state.show(document));
        }
    }
}
