package serve

import "github.com/prometheus/client_golang/prometheus"

// metrics are the server's Prometheus collectors.
type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	queue     *prometheus.HistogramVec
	inference *prometheus.HistogramVec
	batchSize *prometheus.HistogramVec
	items     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, depth func() float64) *metrics {
	m := &metrics{
		requests:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "goclip_requests_total", Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		duration:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "goclip_request_duration_seconds", Help: "Time from request to response.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"route"}),
		queue:     prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "goclip_queue_duration_seconds", Help: "Time items waited for a batch.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}, []string{"model", "modality"}),
		inference: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "goclip_inference_duration_seconds", Help: "Time of one model call.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"model", "modality"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "goclip_batch_size", Help: "Items per model call (before padding).", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}, []string{"model", "modality"}),
		items:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "goclip_items_total", Help: "Inputs accepted, by modality."}, []string{"modality"}),
	}
	reg.MustRegister(m.requests, m.duration, m.queue, m.inference, m.batchSize, m.items,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "goclip_queue_depth", Help: "Items waiting for a batch."}, depth))
	return m
}
