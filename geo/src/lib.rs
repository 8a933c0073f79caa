//! GeoIP lookups (MaxMind DB format) and distances. Filled in by the LUA-records issue; nothing here yet.
