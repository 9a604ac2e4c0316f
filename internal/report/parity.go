package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Parity is the content of a "clip parity" page: the versions compared,
// one table row per stage and the images that differ most.
type Parity struct {
	// Model is the model's name.
	Model string
	// Verdict is "PASS" or "FAIL"; FirstFailure names the first failing
	// stage.
	Verdict, FirstFailure string
	// Versions are (what, version) pairs, shown in order; pairs with an
	// empty version are left out.
	Versions [][2]string
	// Stages are the table's rows, in order.
	Stages []ParityStage
	// WorstImages are shown as cards, in order.
	WorstImages []ParityImage
	// Notice, when not empty, is shown as a banner (see PageOptions.Notice).
	Notice string
}

// ParityStage is one row of the stage table; the numbers are preformatted
// ("" shows as "-", for a stage that was not checked).
type ParityStage struct {
	Name, Status, Note                   string
	MaxAbs, MaxRel, Identical, Tolerance string
	// Worst are the inputs that differ most, each with its difference.
	Worst []string
}

// Class is the row's CSS class: "status-" and the status with spaces as
// dashes ("status-not-checked").
func (s ParityStage) Class() string {
	return "status-" + strings.ReplaceAll(s.Status, " ", "-")
}

// ParityImage is an image that differs, with the stage it differs in and
// its largest absolute difference there.
type ParityImage struct {
	File   string
	Stage  string
	MaxAbs float64
}

// WriteParityPage writes the HTML page of a parity check: the verdict, the
// versions, the stage table and a card per image in p.WorstImages. opts.Top,
// when positive, bounds the cards; opts.Notice is shown when p.Notice is
// empty.
func WriteParityPage(w io.Writer, p Parity, opts PageOptions) (err error) {
	defer recoverError(&err)
	if err := checkArgs(w, opts); err != nil {
		return err
	}
	imgs := p.WorstImages
	if opts.Top > 0 && len(imgs) > opts.Top {
		imgs = imgs[:opts.Top]
	}
	title := opts.Title
	if title == "" {
		title = "Parity: " + p.Model
	}
	notice := p.Notice
	if notice == "" {
		notice = opts.Notice
	}
	pg := page{Title: title, Kind: "parity", Model: p.Model, Notice: notice, Parity: &p,
		ScoreLabel: "max |Δ|", Empty: "Every image is bit-identical in every stage.", Cards: make([]card, len(imgs))}
	files := make([]string, len(imgs))
	for i, im := range imgs {
		files[i] = im.File
		pg.Cards[i] = card{File: im.File, Name: filepath.Base(im.File) + " · " + im.Stage, Rank: i + 1, Score: fmt.Sprintf("%.3g", im.MaxAbs)}
	}
	if err := fillThumbs(pg.Cards, files, opts); err != nil {
		return err
	}
	return render(w, &pg)
}
