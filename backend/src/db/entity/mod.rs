//! sea-orm entities, one per table created by the `migration` crate.
//!
//! Kinds and states stored as text (an item's kind, a backlog status, a mail's state) are
//! enums declared with [`text_enum!`]: the stored names are unchanged, so no migration,
//! and a name the code does not know is a read error instead of a silent mismatch.

/// An enum stored as text: the enum with `ALL`, `as_str`, `parse` and `Display`, sea-orm's
/// mapping to the text column, and serde/OpenAPI under the same names.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            Eq,
            Hash,
            sea_orm::EnumIter,
            sea_orm::DeriveActiveEnum,
            serde::Serialize,
            serde::Deserialize,
            utoipa::ToSchema,
        )]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        pub enum $name {
            $( $(#[$vmeta])* #[sea_orm(string_value = $text)] #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// The value stored as `text`, if there is one.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }

            /// `text` (trimmed, in any case) as a value, or a 400 naming `field` and the
            /// values allowed.
            pub fn parse_field(field: &str, text: &str) -> crate::Result<Self> {
                Self::parse(&text.trim().to_lowercase()).ok_or_else(|| {
                    crate::Error::invalid(
                        "invalid_value",
                        field,
                        format!(
                            "{field} must be one of {}, got {:?}",
                            Self::names(),
                            text.trim()
                        ),
                    )
                })
            }

            /// The stored names, comma-separated (for error messages).
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

pub mod api_token;
pub mod app_secret;
pub mod area;
pub mod backlog_change;
pub mod backlog_entry;
pub mod consent_event;
pub mod customer;
pub mod embedding;
pub mod erasure;
pub mod feedback_item;
pub mod fix_answer;
pub mod inbound_hook;
pub mod item_theme;
pub mod mail;
pub mod outbox_job;
pub mod rating;
pub mod rollout;
pub mod session;
pub mod subscription;
pub mod survey;
pub mod survey_answer;
pub mod survey_question;
pub mod survey_response;
pub mod theme;
pub mod theme_answer;
pub mod theme_edit;
pub mod theme_tree;
pub mod ticket;
pub mod user;
pub mod webhook_delivery;
pub mod webhook_subscription;
