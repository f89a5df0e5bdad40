//! The page at `/`: the requests waiting for a person, with Approve and
//! Decline buttons, as a phone would show them. Server-rendered HTML.

use std::fmt::Write as _;

use crate::audkenni::{PendingRequest, hints};
use crate::hermod::SimCommand;

/// Escapes text for HTML content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn buttons(out: &mut String, service: &str, id: &str) {
    let id = escape(id);
    for (action, label) in [("approve", "Approve"), ("decline", "Decline")] {
        let _ = write!(
            out,
            r#"<form method="post" action="/ui/{service}/{id}/{action}"><button type="submit" class="{action}" id="{action}-{service}-{id}" data-service="{service}" data-id="{id}">{label}</button></form>"#
        );
    }
}

pub(super) fn render(
    audkenni: &[PendingRequest],
    hermod: &[SimCommand],
    notice: Option<&str>,
) -> String {
    let mut out = String::from(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>smartid sim</title>
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem;color:#222}
li{list-style:none;border:1px solid #ccc;border-radius:.5rem;padding:.6rem;margin:.5rem 0}
form{display:inline}button{font-size:1rem;margin:.3rem .3rem 0 0;padding:.4rem 1rem}
.approve{background:#2a7;color:#fff;border:0}.decline{background:#c33;color:#fff;border:0}
.notice{background:#eef;padding:.4rem}.empty{color:#777}code{background:#f4f4f4}
</style></head><body>
<h1>smartid sim</h1>
"#,
    );
    if let Some(n) = notice {
        let _ = writeln!(out, r#"<p class="notice" id="notice">{}</p>"#, escape(n));
    }
    out.push_str("<h2>Audkenni requests waiting</h2>\n");
    if audkenni.is_empty() {
        let _ = writeln!(
            out,
            r#"<p class="empty">None. Requests for login hint <code>{}</code> wait here.</p>"#,
            hints::MANUAL
        );
    } else {
        out.push_str(r#"<ul id="audkenni">"#);
        for r in audkenni {
            let _ = write!(
                out,
                r#"<li class="request" data-id="{}"><b>{}</b> ({}) <code>{}</code>"#,
                escape(&r.auth_req_id),
                escape(&r.name),
                escape(&r.login_hint),
                escape(&r.acr)
            );
            if let Some(m) = &r.binding_message {
                let _ = write!(out, r#"<br>&ldquo;{}&rdquo;"#, escape(m));
            }
            let _ = write!(
                out,
                "<br><small>expires in {} s</small><br>",
                r.expires_in.as_secs()
            );
            buttons(&mut out, "audkenni", &r.auth_req_id);
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<h2>Hermod commands waiting</h2>\n");
    if hermod.is_empty() {
        out.push_str(
            r#"<p class="empty">None. With the device in manual mode, commands wait here.</p>"#,
        );
        out.push('\n');
    } else {
        out.push_str(r#"<ul id="hermod">"#);
        for c in hermod {
            let _ = write!(
                out,
                r#"<li class="command" data-id="{}"><b>{}</b> command {}"#,
                escape(&c.command_id),
                escape(&c.kind),
                escape(&c.command_id)
            );
            if let Some(e) = &c.external_id {
                let _ = write!(out, " (<code>{}</code>)", escape(e));
            }
            out.push_str("<br>");
            buttons(&mut out, "hermod", &c.command_id);
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    out.push_str(
        "<p><small>D-Trust orders are released by the control API \
         (<code>POST /control/dtrust/release</code>), not here. \
         The JSON control API is under <code>/control/</code>.</small></p>\n</body></html>\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let page = render(&[], &[], Some("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("<script>"));
    }
}
