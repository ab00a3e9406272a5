//! Feature gating: what refuses to run while a call or meeting is end-to-end
//! encrypted.
//!
//! Some features need the media or the conversation in clear on a server:
//! captions, transcription and recording, moving a call between parties or
//! devices, adding a participant to a 1:1 call, and meeting layouts and apps
//! rendered by the service. While end-to-end encrypted, each is refused with
//! [`FeatureUnavailable`]. Chat, reactions and Q&A stay available, but they
//! are not end-to-end encrypted: each feature enum lists them in
//! `NOT_END_TO_END_ENCRYPTED`, and decisions report them.

use serde::{Deserialize, Serialize};

macro_rules! feature_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $context:literal {
            gated: [$($gated:ident => $gcode:literal, $gdoc:literal;)*]
            open: [$($open:ident => $ocode:literal, $odoc:literal;)*]
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[doc = $gdoc] #[serde(rename = $gcode)] $gated,)*
            $(#[doc = $odoc] #[serde(rename = $ocode)] $open,)*
        }

        impl $name {
            /// Every feature, the unavailable ones first.
            pub const ALL: &'static [$name] = &[$($name::$gated,)* $($name::$open,)*];
            /// The features refused while end-to-end encrypted.
            pub const UNAVAILABLE_IN_E2EE: &'static [$name] = &[$($name::$gated,)*];
            /// The features available while end-to-end encrypted whose
            /// content is not end-to-end encrypted.
            pub const NOT_END_TO_END_ENCRYPTED: &'static [$name] = &[$($name::$open,)*];

            /// The stable kebab-case code.
            pub const fn code(self) -> &'static str {
                match self {
                    $($name::$gated => $gcode,)*
                    $($name::$open => $ocode,)*
                }
            }

            /// Whether the feature is refused while end-to-end encrypted.
            pub const fn unavailable_in_e2ee(self) -> bool {
                match self {
                    $($name::$gated => true,)*
                    $($name::$open => false,)*
                }
            }

            /// The allowed codes, comma-separated.
            const ALLOWED: &'static str = concat!($($gcode, ", ",)* $($ocode, ", ",)*);
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $name {
            type Err = super::PolicyError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL.iter().copied().find(|f| f.code() == s).ok_or_else(|| {
                    super::PolicyError::InvalidValue {
                        what: $context,
                        value: s.to_owned(),
                        allowed: $name::ALLOWED.trim_end_matches(", "),
                    }
                })
            }
        }
    };
}

feature_enum! {
    /// A feature of a 1:1 call that end-to-end encryption affects.
    ///
    /// ```
    /// use callseal_core::policy::CallFeature;
    ///
    /// assert!(CallFeature::Recording.unavailable_in_e2ee());
    /// assert!(!CallFeature::Chat.unavailable_in_e2ee());
    /// assert_eq!("call-park".parse::<CallFeature>().ok(), Some(CallFeature::CallPark));
    /// assert_eq!(CallFeature::UNAVAILABLE_IN_E2EE.len(), 9);
    /// ```
    CallFeature, "call feature" {
        gated: [
            LiveCaptions => "live-captions", "Live captions.";
            Transcription => "transcription", "Transcription.";
            CallTransfer => "call-transfer", "Transferring the call to someone else.";
            CallMerge => "call-merge", "Merging the call with another call.";
            CallPark => "call-park", "Parking the call.";
            ConsultThenTransfer => "consult-then-transfer", "Consulting someone, then transferring to them.";
            TransferToAnotherDevice => "transfer-to-another-device", "Moving the call to another of one's devices.";
            AddParticipant => "add-participant", "Turning the 1:1 call into a group call.";
            Recording => "recording", "Recording.";
        ]
        open: [
            Chat => "chat", "Chat during the call (not end-to-end encrypted).";
            Reactions => "reactions", "Reactions (not end-to-end encrypted).";
        ]
    }
}

feature_enum! {
    /// A feature of a meeting that end-to-end encryption affects.
    ///
    /// ```
    /// use callseal_core::policy::MeetingFeature;
    ///
    /// assert!(MeetingFeature::BreakoutRooms.unavailable_in_e2ee());
    /// assert!(!MeetingFeature::QAndA.unavailable_in_e2ee());
    /// assert_eq!("powerpoint-live".parse::<MeetingFeature>().ok(), Some(MeetingFeature::PowerpointLive));
    /// assert_eq!(MeetingFeature::UNAVAILABLE_IN_E2EE.len(), 9);
    /// ```
    MeetingFeature, "meeting feature" {
        gated: [
            LiveCaptions => "live-captions", "Live captions.";
            Transcription => "transcription", "Transcription.";
            Recording => "recording", "Recording.";
            TogetherMode => "together-mode", "Together mode (a server-composed scene).";
            CompanionMode => "companion-mode", "Joining a second device in companion mode.";
            LargeGallery => "large-gallery", "The large gallery view.";
            BreakoutRooms => "breakout-rooms", "Breakout rooms.";
            PowerpointLive => "powerpoint-live", "Presenting with PowerPoint Live.";
            ExcelLive => "excel-live", "Presenting with Excel Live.";
        ]
        open: [
            Chat => "chat", "Meeting chat (not end-to-end encrypted).";
            Reactions => "reactions", "Reactions (not end-to-end encrypted).";
            QAndA => "q-and-a", "Q&A (not end-to-end encrypted).";
        ]
    }
}

/// The typed error of a feature refused while end-to-end encrypted.
///
/// ```
/// use callseal_core::ErrorKind;
/// use callseal_core::policy::{FeatureUnavailable, MeetingFeature, gate_meeting_feature};
///
/// let err = gate_meeting_feature(true, MeetingFeature::Recording).unwrap_err();
/// assert_eq!(err, FeatureUnavailable::Meeting(MeetingFeature::Recording));
/// assert_eq!(err.kind(), ErrorKind::FeatureUnavailable);
/// assert_eq!(err.to_string(), "recording is unavailable while the meeting is end-to-end encrypted");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FeatureUnavailable {
    /// A call feature.
    #[error("{0} is unavailable while the call is end-to-end encrypted")]
    Call(CallFeature),
    /// A meeting feature.
    #[error("{0} is unavailable while the meeting is end-to-end encrypted")]
    Meeting(MeetingFeature),
}

impl FeatureUnavailable {
    /// The feature's kebab-case code.
    pub const fn feature_code(&self) -> &'static str {
        match self {
            FeatureUnavailable::Call(f) => f.code(),
            FeatureUnavailable::Meeting(f) => f.code(),
        }
    }

    /// Always [`ErrorKind::FeatureUnavailable`](crate::ErrorKind::FeatureUnavailable).
    pub const fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::FeatureUnavailable
    }
}

/// Whether `feature` may run in a call that is (`e2ee`) or is not end-to-end
/// encrypted.
///
/// # Errors
/// [`FeatureUnavailable::Call`] for a gated feature while `e2ee`.
///
/// ```
/// use callseal_core::policy::{CallFeature, FeatureUnavailable, gate_call_feature};
///
/// assert_eq!(
///     gate_call_feature(true, CallFeature::CallPark),
///     Err(FeatureUnavailable::Call(CallFeature::CallPark))
/// );
/// assert_eq!(gate_call_feature(false, CallFeature::CallPark), Ok(()));
/// // Chat stays available (it is not end-to-end encrypted).
/// assert_eq!(gate_call_feature(true, CallFeature::Chat), Ok(()));
/// ```
pub const fn gate_call_feature(e2ee: bool, feature: CallFeature) -> Result<(), FeatureUnavailable> {
    if e2ee && feature.unavailable_in_e2ee() {
        Err(FeatureUnavailable::Call(feature))
    } else {
        Ok(())
    }
}

/// Whether `feature` may run in a meeting that is (`e2ee`) or is not
/// end-to-end encrypted.
///
/// # Errors
/// [`FeatureUnavailable::Meeting`] for a gated feature while `e2ee`.
///
/// ```
/// use callseal_core::policy::{MeetingFeature, gate_meeting_feature};
///
/// assert_eq!(gate_meeting_feature(true, MeetingFeature::QAndA), Ok(()));
/// assert!(gate_meeting_feature(true, MeetingFeature::ExcelLive).is_err());
/// ```
pub const fn gate_meeting_feature(
    e2ee: bool,
    feature: MeetingFeature,
) -> Result<(), FeatureUnavailable> {
    if e2ee && feature.unavailable_in_e2ee() {
        Err(FeatureUnavailable::Meeting(feature))
    } else {
        Ok(())
    }
}
