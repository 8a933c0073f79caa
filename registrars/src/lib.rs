//! Registrar adapters and mock servers. Filled in by the registrars issue.
