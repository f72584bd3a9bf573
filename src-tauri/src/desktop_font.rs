//! The desktop's interface font by the name of an installed family, for the panel's page on Linux.
//!
//! Why: for `font-family: system-ui, sans-serif` WebKitGTK gets a family whose name is neither
//! (e.g. DejaVu Sans), and then walks fontconfig's whole alias list of each generic name, once
//! per weight and size the page uses, to check it is an acceptable stand-in: 3,516 fontconfig
//! matches in the web process of one panel open here, half of them when the first family is an
//! installed one. Naming the family fontconfig would pick anyway shows the same font and opens
//! the panel ~30 ms sooner (BENCHMARKS.md "Opening the panel: the loader's order and the page's
//! font").

use gtk::pango;
use gtk::prelude::*;

/// The CSS custom property ui/panel.css puts before `system-ui`.
pub const CSS_PROPERTY: &str = "--desktop-font";

/// The family GTK draws its own interface text in (the `gtk-font-name` setting, which GNOME and
/// KDE set to the rep's choice), resolved by fontconfig to what is installed ("Sans 10" becomes
/// "DejaVu Sans"). None without a display or a font. Call on the GTK thread.
pub fn family() -> Option<String> {
    let name = gtk::Settings::default()?.gtk_font_name()?;
    let wanted = pango::FontDescription::from_string(&name);
    let font = gtk::gdk::pango_context_get()?.load_font(&wanted)?;
    let family = font.describe().family()?;
    Some(family.to_string()).filter(|f| !f.is_empty())
}

/// A script that sets [`CSS_PROPERTY`] on the page's root before its style is first computed.
pub fn script(family: &str) -> String {
    // JSON quoting makes a valid CSS string (its escapes are CSS escapes too), and JSON of that
    // a valid JavaScript string literal.
    let css_string = serde_json::Value::from(family).to_string();
    let js_literal = serde_json::Value::from(css_string).to_string();
    format!("document.documentElement.style.setProperty('{CSS_PROPERTY}', {js_literal});")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_quotes_the_family_for_css_inside_javascript() {
        assert_eq!(
            script("DejaVu Sans"),
            r#"document.documentElement.style.setProperty('--desktop-font', "\"DejaVu Sans\"");"#
        );
        assert_eq!(
            script(r#"Odd "Font" \ </script>"#),
            r#"document.documentElement.style.setProperty('--desktop-font', "\"Odd \\\"Font\\\" \\\\ </script>\"");"#
        );
    }

    #[test]
    fn the_stylesheet_uses_the_property_first() {
        let css = include_str!("../../ui/panel.css");
        assert!(css.contains(&format!(
            "font-family: var({CSS_PROPERTY}, system-ui), system-ui, sans-serif;"
        )));
    }
}
