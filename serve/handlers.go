package serve

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/goclip/goclip/clip"
)

// readJSON decodes a JSON body into v.
func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("body", "invalid_json", "the body is not valid JSON for this route: %v", err)
	}
	return nil
}

type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Normalize      *bool           `json:"normalize"`
	Modality       string          `json:"modality"`
	Dimensions     json.RawMessage `json:"dimensions"`
}

type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) error {
	var req embeddingsRequest
	items, form, err := bodyImages(r)
	if err != nil {
		return err
	}
	if items != nil {
		req.Model = first(form["model"])
		req.EncodingFormat = first(form["encoding_format"])
		if v := first(form["normalize"]); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return badRequest("normalize", "invalid_value", "normalize must be true or false, got %q", v)
			}
			req.Normalize = &b
		}
	} else {
		if err := readJSON(r, &req); err != nil {
			return err
		}
		if len(req.Dimensions) > 0 && string(req.Dimensions) != "null" {
			return badRequest("dimensions", "unsupported_parameter", "dimensions is not supported: CLIP embeddings have one size (see /v1/models embed_dim)")
		}
		switch req.Modality {
		case "", "text", "image":
		default:
			return badRequest("modality", "invalid_value", `modality must be "text" or "image", got %q`, req.Modality)
		}
		if items, err = parseItems(req.Input, "input", req.Modality == "image"); err != nil {
			return err
		}
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		return badRequest("encoding_format", "invalid_value", `encoding_format must be "float" or "base64", got %q`, req.EncodingFormat)
	}
	m, err := s.model(req.Model)
	if err != nil {
		return err
	}
	enc, err := s.encode(r.Context(), m, items)
	if err != nil {
		return err
	}
	normalize := req.Normalize == nil || *req.Normalize
	data := make([]embedding, len(items))
	for i, f := range enc.feats {
		if normalize {
			f = unit(f)
		}
		var e any = f
		if req.EncodingFormat == "base64" {
			b := make([]byte, 4*len(f))
			for k, v := range f {
				binary.LittleEndian.PutUint32(b[4*k:], math.Float32bits(v))
			}
			e = base64.StdEncoding.EncodeToString(b)
		}
		data[i] = embedding{Object: "embedding", Index: i, Embedding: e}
	}
	timingHeaders(w, enc.timing)
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list", "data": data, "model": m.name,
		"usage": map[string]int{"prompt_tokens": enc.tokens, "total_tokens": enc.tokens},
	})
	return nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// unit returns f with unit L2 norm (as clip.Matrix.Normalized).
func unit(f []float32) []float32 {
	return clip.Matrix{Rows: 1, Cols: len(f), Data: f}.Normalized().Data
}

type classifyRequest struct {
	Model     string          `json:"model"`
	Images    json.RawMessage `json:"images"`
	Labels    []string        `json:"labels"`
	Templates json.RawMessage `json:"templates"`
	TopK      *int            `json:"top_k"`
}

type labelProb struct {
	Label string  `json:"label"`
	Index int     `json:"index"`
	Prob  float32 `json:"prob"`
}

func (s *Server) handleClassify(w http.ResponseWriter, r *http.Request) error {
	var req classifyRequest
	items, form, err := bodyImages(r)
	if err != nil {
		return err
	}
	var templates []string
	if items != nil {
		req.Model = first(form["model"])
		for _, l := range form["labels"] {
			for _, x := range strings.Split(l, ",") {
				req.Labels = append(req.Labels, strings.TrimSpace(x))
			}
		}
		templates = form["templates"]
		if k := first(form["top_k"]); k != "" {
			n, err := strconv.Atoi(k)
			if err != nil {
				return badRequest("top_k", "invalid_value", "top_k must be an integer, got %q", k)
			}
			req.TopK = &n
		}
	} else {
		if err := readJSON(r, &req); err != nil {
			return err
		}
		if items, err = parseItems(req.Images, "images", true); err != nil {
			return err
		}
		if t := strings.TrimSpace(string(req.Templates)); t != "" && t != "null" {
			var one string
			if json.Unmarshal(req.Templates, &one) == nil {
				templates = []string{one}
			} else if err := json.Unmarshal(req.Templates, &templates); err != nil {
				return badRequest("templates", "invalid_value", `templates must be a list of strings with {} or "imagenet"`)
			}
		}
	}
	if len(templates) == 1 && templates[0] == "imagenet" {
		templates = clip.ImageNetTemplates()
	}
	for _, it := range items {
		if !it.image {
			return badRequest(it.param, "invalid_input", "%s: classify takes images", it.param)
		}
	}
	if len(req.Labels) == 0 {
		return badRequest("labels", "missing_labels", "labels are required")
	}
	m, err := s.model(req.Model)
	if err != nil {
		return err
	}
	weights, err := s.classWeights(r.Context(), m, req.Labels, templates)
	if err != nil {
		return err
	}
	enc, err := s.encode(r.Context(), m, items)
	if err != nil {
		return err
	}
	feats := clip.Matrix{Rows: len(enc.feats), Cols: m.info.EmbedDim}
	for _, f := range enc.feats {
		feats.Data = append(feats.Data, f...)
	}
	preds, err := clip.ZeroShot(feats, weights, m.scale, req.Labels)
	if err != nil {
		return err
	}
	top := 5
	if req.TopK != nil {
		top = *req.TopK
	}
	data := make([]map[string]any, len(preds))
	for i, p := range preds {
		var tk []labelProb
		for _, lp := range p.TopK(top) {
			tk = append(tk, labelProb{Label: lp.Label, Index: lp.Index, Prob: lp.Prob})
		}
		data[i] = map[string]any{"object": "classification", "index": i, "labels": req.Labels, "probs": p.Probs, "top": tk}
	}
	timingHeaders(w, enc.timing)
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": m.name})
	return nil
}

type rankRequest struct {
	Model      string          `json:"model"`
	Query      json.RawMessage `json:"query"`
	Candidates json.RawMessage `json:"candidates"`
	Modality   string          `json:"modality"`
	TopK       int             `json:"top_k"`
}

type rankHit struct {
	Index   int     `json:"index"`
	File    string  `json:"file,omitempty"`
	Cosine  float32 `json:"cosine"`
	Softmax float32 `json:"softmax"`
}

func (s *Server) handleRank(w http.ResponseWriter, r *http.Request) error {
	var req rankRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	q, err := parseItems(req.Query, "query", false)
	if err != nil {
		return err
	}
	if len(q) != 1 {
		return badRequest("query", "invalid_input", "query must be one text or one typed item")
	}
	m, err := s.model(req.Model)
	if err != nil {
		return err
	}
	var cands []item
	var files []string
	var candFeats clip.Matrix
	s.mu.RLock()
	ix := s.index
	s.mu.RUnlock()
	useIndex := len(strings.TrimSpace(string(req.Candidates))) == 0 || string(req.Candidates) == "null"
	if useIndex {
		if ix == nil || ix.Model != m.name {
			return badRequest("candidates", "missing_input", "candidates are required (the server has no --index for model %s)", m.name)
		}
		candFeats, files = ix.Features, ix.Files
	} else if cands, err = parseItems(req.Candidates, "candidates", req.Modality == "image"); err != nil {
		return err
	}
	enc, err := s.encode(r.Context(), m, append(q, cands...))
	if err != nil {
		return err
	}
	if !useIndex {
		candFeats = clip.Matrix{Rows: len(cands), Cols: m.info.EmbedDim}
		for _, f := range enc.feats[1:] {
			candFeats.Data = append(candFeats.Data, f...)
		}
	}
	ranked, err := clip.Rank(enc.feats[0], candFeats)
	if err != nil {
		return err
	}
	// softmax of logit_scale·cosine over the candidates (float64)
	maxv := math.Inf(-1)
	for _, h := range ranked {
		maxv = math.Max(maxv, m.scale*float64(h.Score))
	}
	var sum float64
	for _, h := range ranked {
		sum += math.Exp(m.scale*float64(h.Score) - maxv)
	}
	if req.TopK > 0 && req.TopK < len(ranked) {
		ranked = ranked[:req.TopK]
	}
	data := make([]rankHit, len(ranked))
	for i, h := range ranked {
		data[i] = rankHit{Index: h.Index, Cosine: h.Score, Softmax: float32(math.Exp(m.scale*float64(h.Score)-maxv) / sum)}
		if files != nil {
			data[i].File = files[h.Index]
		}
	}
	timingHeaders(w, enc.timing)
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": m.name})
	return nil
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	data := make([]map[string]any, len(s.models))
	for i, m := range s.models {
		data[i] = map[string]any{
			"id": m.name, "object": "model", "created": 0, "owned_by": "openai",
			"embed_dim": m.info.EmbedDim, "image_resolution": m.info.ImageResolution,
			"context_length": m.info.ContextLength, "artifact_sha256": m.sha,
			"device": m.info.Device.String(), "precision": string(m.info.Precision),
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
	return nil
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) error {
	s.mu.RLock()
	ix := s.index
	s.mu.RUnlock()
	if ix == nil {
		return &apiError{status: http.StatusNotFound, Type: "invalid_request_error", Code: "no_index", Message: "the server has no --index"}
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": ix.Model, "rows": ix.Features.Rows, "dim": ix.Features.Cols})
	return nil
}

func (s *Server) handleIndexImage(w http.ResponseWriter, r *http.Request) error {
	s.mu.RLock()
	ix := s.index
	s.mu.RUnlock()
	row, err := strconv.Atoi(r.PathValue("row"))
	if ix == nil || err != nil || row < 0 || row >= len(ix.Files) {
		return &apiError{status: http.StatusNotFound, Type: "invalid_request_error", Param: "row", Code: "not_found", Message: "no such index row"}
	}
	http.ServeFile(w, r, ix.Paths[row])
	return nil
}

// classWeights computes the unit class embeddings for labels and
// templates through the text batcher (the reference notebook's ensemble,
// as clip.Model.NewClassifier computes them), cached per label set.
func (s *Server) classWeights(ctx context.Context, m *served, labels, templates []string) (clip.Matrix, error) {
	if len(templates) == 0 {
		templates = []string{clip.DefaultTemplate}
	}
	seen := map[string]bool{}
	var items []item
	for i, l := range labels {
		if strings.TrimSpace(l) == "" {
			return clip.Matrix{}, badRequest("labels", "invalid_labels", "label %d is empty", i)
		}
		if seen[l] {
			return clip.Matrix{}, badRequest("labels", "invalid_labels", "label %q appears twice", l)
		}
		seen[l] = true
		for _, t := range templates {
			p, err := clip.FormatTemplate(t, l)
			if err != nil {
				return clip.Matrix{}, badRequest("templates", "invalid_templates", "%v", err)
			}
			items = append(items, item{text: p, param: "labels"})
		}
	}
	key := strings.Join(labels, "\x00") + "\x01" + strings.Join(templates, "\x00")
	if w, ok := m.classes.get(key); ok {
		return w, nil
	}
	if len(items) > 4096 {
		return clip.Matrix{}, badRequest("labels", "too_many_items", "%d prompts (labels × templates); the limit is 4096", len(items))
	}
	// Label prompts are not counted against --max-items.
	enc, err := s.encodeItems(ctx, m, items)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.status == http.StatusBadRequest {
			ae.Param = "labels"
		}
		return clip.Matrix{}, err
	}
	feats := clip.Matrix{Rows: len(items), Cols: m.info.EmbedDim}
	for _, f := range enc.feats {
		feats.Data = append(feats.Data, f...)
	}
	w := clip.EnsembleWeights(feats, len(labels), len(templates))
	m.classes.put(key, w)
	return w, nil
}
