module github.com/goclip/goclip

go 1.26.8

require golang.org/x/image v0.48.0

require (
	github.com/gofrs/flock v0.13.2 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
