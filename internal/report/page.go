package report

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"sync"
)

// page is the data of the page template.
type page struct {
	Title    string
	Kind     string // "search" or "classify"
	Query    string
	HasQuery bool
	Model    string
	Notice   string
	Cards    []card
}

// card is one image of a page.
type card struct {
	File       string
	Name       string
	Rank       int
	Src        any    // string (vetted by html/template) or template.URL (ours)
	Unreadable string // why the image could not be embedded, when Src is nil
	Score      string // search pages
	Labels     []labelRow
}

// pageTemplate parses the template once, on first use.
var pageTemplate = sync.OnceValues(func() (*template.Template, error) {
	return template.New("page").Parse(pageHTML)
})

// render executes the page template into w.
func render(w io.Writer, p *page) error {
	t, err := pageTemplate()
	if err != nil {
		return fmt.Errorf("report: template: %w", err)
	}
	return execute(w, t, p)
}

// execute runs a page template into w through a buffer.
func execute(w io.Writer, t *template.Template, p any) error {
	bw := bufio.NewWriter(w)
	if err := t.Execute(bw, p); err != nil {
		return fmt.Errorf("report: writing page: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: writing page: %w", err)
	}
	return nil
}

// pageHTML is the page template. The policy forbids scripts, frames,
// fetches and remote styles; only images may come from elsewhere (ThumbLink
// pages refer to local files, ThumbEmbed pages to data: URIs).
const pageHTML = pageHead + pageBody + cardFigure

// cardFigure is a card's thumbnail and file name, shared by every page.
const cardFigure = `{{define "figure"}}<figure>
<div class="thumb">
{{- if .Src}}<img src="{{.Src}}" alt="{{.Name}}">
{{- else}}<div class="placeholder" title="{{.Unreadable}}">unreadable</div>
{{- end}}</div>
<figcaption class="file" title="{{.File}}">{{.Name}}</figcaption>
</figure>{{end}}`

// pageHead is the document head every page shares (it uses .Title).
const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data: file: *">
<meta name="generator" content="goclip">
<title>{{.Title}}</title>
<style>
:root {
  --bg: #f4f5f7; --fg: #1d2330; --muted: #667085; --card: #fff;
  --line: #e3e6eb; --accent: #3461d8; --bar: #9db2ea; --well: #eceef2;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171c; --fg: #e6e8ec; --muted: #98a1b0; --card: #1e232b;
    --line: #2d333d; --accent: #7c9dff; --bar: #40527f; --well: #272d36;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
header.page-header { background: var(--card); border-bottom: 1px solid var(--line); padding: 20px 28px 16px; }
.kind { margin: 0; color: var(--accent); font-size: 12px; font-weight: 600; letter-spacing: .08em; text-transform: uppercase; }
h1 { margin: 4px 0 10px; font-size: 24px; font-weight: 650; overflow-wrap: anywhere; }
dl.meta { display: flex; flex-wrap: wrap; gap: 6px 28px; margin: 0; font-size: 14px; }
dl.meta div { display: flex; gap: 8px; min-width: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
main.grid {
  display: grid; gap: 18px; padding: 24px 28px;
  grid-template-columns: repeat(auto-fill, minmax(230px, 1fr));
}
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  overflow: hidden; display: flex; flex-direction: column;
  box-shadow: 0 1px 2px rgba(16, 24, 40, .06);
}
.card figure { margin: 0; }
.thumb {
  aspect-ratio: 1 / 1; background: var(--well); display: flex;
  align-items: center; justify-content: center;
}
.thumb img { width: 100%; height: 100%; object-fit: contain; display: block; }
.placeholder {
  width: 70%; height: 70%; border: 2px dashed var(--muted); border-radius: 8px;
  display: flex; align-items: center; justify-content: center;
  color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .06em; font-size: 13px;
}
figcaption.file {
  padding: 10px 14px 0; font-size: 13px; color: var(--muted);
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.score { display: flex; align-items: baseline; justify-content: space-between; padding: 4px 14px 12px; }
.rank { font-weight: 700; color: var(--accent); }
.score-value { font-variant-numeric: tabular-nums; font-size: 20px; font-weight: 650; }
.score-label { color: var(--muted); font-size: 12px; margin-right: 6px; }
ol.labels { list-style: none; margin: 0; padding: 8px 14px 14px; display: grid; gap: 8px; }
.label-row { display: grid; grid-template-columns: 1fr auto; gap: 2px 10px; font-size: 14px; }
.label { overflow-wrap: anywhere; }
.pct { font-variant-numeric: tabular-nums; color: var(--muted); text-align: right; }
.bar { grid-column: 1 / -1; height: 8px; background: var(--well); border-radius: 4px; overflow: hidden; }
.fill { height: 100%; background: var(--bar); border-radius: 4px; }
.label-row:first-child .label { font-weight: 650; }
.label-row:first-child .pct { color: var(--fg); font-weight: 650; }
.label-row:first-child .fill { background: var(--accent); }
.notice { margin: 0; padding: 12px 28px; background: #fff4ce; color: #5c4300; border-bottom: 1px solid #e8d27a; font-weight: 600; }
.empty { padding: 40px 28px; color: var(--muted); }
footer { padding: 0 28px 24px; color: var(--muted); font-size: 12px; }
</style>
</head>
`

// pageBody is the body of search and classify pages.
const pageBody = `<body>
<header class="page-header">
<p class="kind">goclip {{.Kind}}</p>
<h1>{{.Title}}</h1>
<dl class="meta">
{{- if .HasQuery}}
<div><dt>Query</dt><dd class="query">{{.Query}}</dd></div>
{{- end}}
<div><dt>Model</dt><dd class="model">{{.Model}}</dd></div>
<div><dt>Images</dt><dd class="count">{{len .Cards}}</dd></div>
</dl>
</header>
{{- if .Notice}}
<p class="notice" role="alert">{{.Notice}}</p>
{{- end}}
{{- if .Cards}}
<main class="grid">
{{- range .Cards}}
<article class="card">
{{template "figure" .}}
{{- if eq $.Kind "search"}}
<div class="score"><span class="rank">#{{.Rank}}</span><span><span class="score-label">score</span><span class="score-value">{{.Score}}</span></span></div>
{{- else}}
<ol class="labels">
{{- range .Labels}}
<li class="label-row"><span class="label">{{.Label}}</span><span class="pct">{{.Pct}}</span><div class="bar"><div class="fill" style="width: {{.Width}}%"></div></div></li>
{{- end}}
</ol>
{{- end}}
</article>
{{- end}}
</main>
{{- else}}
<p class="empty">No images.</p>
{{- end}}
<footer>Generated by goclip.</footer>
</body>
</html>
`
