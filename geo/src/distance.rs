//! Distances between two points on the globe.
//!
//! Two different measures, on purpose:
//!
//! - [`pdns_closest_metric`] is what PowerDNS's `pickclosest` minimises
//!   (lua-records spec §9.3): squared *degrees*, latitude difference squared
//!   plus longitude difference squared, with the longitude difference taken
//!   the short way round the antimeridian (PowerDNS master). It is not a
//!   distance on the sphere (a degree of longitude counts as much at the pole
//!   as at the equator), and answers must match PowerDNS, so it is kept as is.
//! - [`great_circle_km`] is the haversine distance in kilometres, for reports
//!   and logs only. Never use it to choose an answer.

/// A point in decimal degrees: latitude −90..=90 (north positive), longitude
/// −180..=180 (east positive). Values are not validated: MMDB data is used as
/// found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Latitude in degrees, north positive.
    pub lat: f64,
    /// Longitude in degrees, east positive.
    pub lon: f64,
}

impl Point {
    /// A point from latitude and longitude in degrees.
    pub const fn new(lat: f64, lon: f64) -> Self {
        Point { lat, lon }
    }
}

/// Mean Earth radius (IUGG R1) in kilometres, used by [`great_circle_km`].
pub const EARTH_MEAN_RADIUS_KM: f64 = 6371.0088;

/// PowerDNS's `pickclosest` metric between the client `who` and a candidate:
/// `(who.lat − c.lat)² + d²` where `d = |who.lon − c.lon|`, replaced by
/// `360 − d` when `d > 180`. Smaller is closer. Symmetric in its arguments.
pub fn pdns_closest_metric(who: Point, candidate: Point) -> f64 {
    let latdiff = who.lat - candidate.lat;
    let mut londiff = (who.lon - candidate.lon).abs();
    if londiff > 180.0 {
        londiff = 360.0 - londiff;
    }
    latdiff * latdiff + londiff * londiff
}

/// Great-circle (haversine) distance in kilometres on a sphere of radius
/// [`EARTH_MEAN_RADIUS_KM`]. Accurate to about 0.5 % against the ellipsoid;
/// for reports only.
pub fn great_circle_km(a: Point, b: Point) -> f64 {
    let (phi1, phi2) = (a.lat.to_radians(), b.lat.to_radians());
    let dphi = (b.lat - a.lat).to_radians();
    let dlambda = (b.lon - a.lon).to_radians();
    let h = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    // `min(1)` guards against rounding pushing `h` just above 1 for antipodes.
    2.0 * EARTH_MEAN_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn pdns_metric_is_squared_degrees() {
        // 3-4-5 triangle in degrees.
        assert_eq!(
            pdns_closest_metric(Point::new(0.0, 0.0), Point::new(3.0, 4.0)),
            25.0
        );
        assert_eq!(
            pdns_closest_metric(Point::new(3.0, 4.0), Point::new(0.0, 0.0)),
            25.0
        );
        // Same point.
        assert_eq!(
            pdns_closest_metric(Point::new(47.913, -122.3042), Point::new(47.913, -122.3042)),
            0.0
        );
        // Not great-circle: at latitude 80 a degree of longitude still counts 1.
        assert_eq!(
            pdns_closest_metric(Point::new(80.0, 0.0), Point::new(80.0, 10.0)),
            100.0
        );
    }

    #[test]
    fn pdns_metric_wraps_at_the_antimeridian() {
        // Spec §17: 192.0.2.0/24 is at (0,-179); 198.51.100.1 at (0,179) is 2° away
        // the short way, 203.0.113.1 at (0,-160) is 19° away.
        let who = Point::new(0.0, -179.0);
        assert_eq!(pdns_closest_metric(who, Point::new(0.0, 179.0)), 4.0);
        assert_eq!(pdns_closest_metric(who, Point::new(0.0, -160.0)), 361.0);
        let who = Point::new(0.0, 179.0);
        assert_eq!(pdns_closest_metric(who, Point::new(0.0, -179.0)), 4.0);
        assert_eq!(
            pdns_closest_metric(who, Point::new(0.0, -160.0)),
            21.0 * 21.0
        );
        // Exactly 180 apart is not wrapped (d > 180 is strict) and gives 180².
        assert_eq!(
            pdns_closest_metric(Point::new(0.0, -90.0), Point::new(0.0, 90.0)),
            32400.0
        );
    }

    #[test]
    fn pdns_metric_spec_fixture_values() {
        // 1.1.1.0/24 at (1,1) and 1.2.3.0/24 at (47.913,-122.3042).
        let au = Point::new(1.0, 1.0);
        let us = Point::new(47.913, -122.3042);
        let expected = 46.913f64.powi(2) + 123.3042f64.powi(2);
        assert!(close(pdns_closest_metric(au, us), expected, 1e-9));
        // "No location" is (0,0): closer to AU than to US.
        let none = Point::new(0.0, 0.0);
        assert!(pdns_closest_metric(none, au) < pdns_closest_metric(none, us));
    }

    #[test]
    fn great_circle_known_values() {
        let r = EARTH_MEAN_RADIUS_KM;
        // Quarter of the equator: pi/2 * R.
        let q = great_circle_km(Point::new(0.0, 0.0), Point::new(0.0, 90.0));
        assert!(close(q, std::f64::consts::FRAC_PI_2 * r, 1e-6), "{q}");
        // Pole to equator: the same.
        let p = great_circle_km(Point::new(90.0, 0.0), Point::new(0.0, 123.0));
        assert!(close(p, std::f64::consts::FRAC_PI_2 * r, 1e-6), "{p}");
        // Antipodes: half the circumference.
        let a = great_circle_km(Point::new(0.0, 0.0), Point::new(0.0, 180.0));
        assert!(close(a, std::f64::consts::PI * r, 1e-6), "{a}");
        // Across the antimeridian: 2 degrees of equator.
        let x = great_circle_km(Point::new(0.0, -179.0), Point::new(0.0, 179.0));
        assert!(close(x, 2.0f64.to_radians() * r, 1e-6), "{x}");
        // One degree of latitude along a meridian.
        let d = great_circle_km(Point::new(10.0, 5.0), Point::new(11.0, 5.0));
        assert!(close(d, 1.0f64.to_radians() * r, 1e-6), "{d}");
        // Paris (48.8566, 2.3522) to London (51.5074, -0.1278): about 343.5 km.
        let pl = great_circle_km(Point::new(48.8566, 2.3522), Point::new(51.5074, -0.1278));
        assert!(close(pl, 343.5, 1.0), "{pl}");
        // Zero and symmetry.
        assert_eq!(
            great_circle_km(Point::new(12.0, 34.0), Point::new(12.0, 34.0)),
            0.0
        );
        let (s, t) = (Point::new(-33.9, 18.4), Point::new(35.7, 139.7));
        assert!(close(great_circle_km(s, t), great_circle_km(t, s), 1e-9));
    }
}
