//! The platforms a participant can join from.

use serde::{Deserialize, Serialize};

/// The platform of a meeting participant.
///
/// Only the desktop apps and the mobile apps can join an end-to-end
/// encrypted meeting: the others cannot run the encryption on the device.
///
/// ```
/// use callseal_core::policy::Platform;
///
/// let web: Platform = "web".parse()?;
/// assert!(!web.supports_e2ee());
/// assert!(Platform::Ios.supports_e2ee());
/// assert_eq!(Platform::RoomsWindows.code(), "rooms-windows");
/// # Ok::<(), callseal_core::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    /// The desktop app on Windows.
    #[default]
    DesktopWindows,
    /// The desktop app on macOS.
    DesktopMac,
    /// The iOS app.
    Ios,
    /// The Android app.
    Android,
    /// A web browser.
    Web,
    /// A virtual desktop (VDI).
    Vdi,
    /// Cloud Video Interop (a third-party room system through a gateway).
    Cvi,
    /// A meeting room on Windows.
    RoomsWindows,
    /// A meeting room on Android.
    RoomsAndroid,
    /// A Surface Hub.
    SurfaceHub,
}

impl Platform {
    /// Every platform, in a fixed order.
    pub const ALL: [Platform; 10] = [
        Platform::DesktopWindows,
        Platform::DesktopMac,
        Platform::Ios,
        Platform::Android,
        Platform::Web,
        Platform::Vdi,
        Platform::Cvi,
        Platform::RoomsWindows,
        Platform::RoomsAndroid,
        Platform::SurfaceHub,
    ];

    /// The stable kebab-case code.
    pub const fn code(self) -> &'static str {
        match self {
            Platform::DesktopWindows => "desktop-windows",
            Platform::DesktopMac => "desktop-mac",
            Platform::Ios => "ios",
            Platform::Android => "android",
            Platform::Web => "web",
            Platform::Vdi => "vdi",
            Platform::Cvi => "cvi",
            Platform::RoomsWindows => "rooms-windows",
            Platform::RoomsAndroid => "rooms-android",
            Platform::SurfaceHub => "surface-hub",
        }
    }

    /// Whether a participant on this platform can join an end-to-end
    /// encrypted meeting.
    pub const fn supports_e2ee(self) -> bool {
        matches!(
            self,
            Platform::DesktopWindows | Platform::DesktopMac | Platform::Ios | Platform::Android
        )
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Platform {
    type Err = super::PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.code() == s)
            .ok_or_else(|| super::PolicyError::InvalidValue {
                what: "platform",
                value: s.to_owned(),
                allowed: "desktop-windows, desktop-mac, ios, android, web, vdi, cvi, \
                          rooms-windows, rooms-android, surface-hub",
            })
    }
}
