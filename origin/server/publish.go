package server

import (
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/edge-sse/edge-sse/origin/hub"
	"github.com/edge-sse/edge-sse/shared/auth"
)

// publish implements Mercure §"Publication": a form-encoded POST, authorized
// by a token that grants publish on every topic of the update
// (§"Publishers"), answered with 200 and the id of the stored event as
// text/plain once the History holds it.
//
// The checks run in this order, each with its own status: the token (401,
// or 400 for a malformed Authorization header), the CSRF origin check of a
// cookie token (403), the media type (415), the body size (413), the form
// fields (400, or 413 for too many or too long fields), the publish grants
// on every topic (403 insufficient_scope), and the id's uniqueness (409).
// An update refused by any check is neither stored nor delivered.
func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	cred, err := authenticate(r, s.cfg.Publishers)
	if err == nil && cred.fromCookie && !s.allowedPublishOrigin(r) {
		err = fmt.Errorf("%w: %w", auth.ErrPublishForbidden, ErrCrossOrigin)
	}
	if err == nil {
		err = cred.claims.CanPublish()
	}
	if err != nil {
		writeAuthError(w, err)
		return
	}
	e, err := s.readUpdate(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.checkPublishGrants(cred.claims, e.Topics); err != nil {
		writeAuthError(w, err)
		return
	}
	if err := s.hub.Publish(e); err != nil {
		if errors.Is(err, hub.ErrDuplicateID) {
			httpError(w, http.StatusConflict, fmt.Sprintf("%v: id %q", ErrDuplicateID, e.ID))
			return
		}
		s.cfg.Logger.Error("publish failed", "id", e.ID, "err", err)
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "the hub could not store the update, it was not published: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(e.ID))
}

// readUpdate reads the publish form within the body size limit and builds
// the event from it.
func (s *Server) readUpdate(w http.ResponseWriter, r *http.Request) (*hub.Event, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fail(http.StatusUnsupportedMediaType, fmt.Errorf("%w, not %q", ErrContentType, r.Header.Get("Content-Type")))
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fail(http.StatusRequestEntityTooLarge, fmt.Errorf("%w (limit %d bytes)", ErrBodyTooLarge, s.cfg.MaxBodyBytes))
		}
		return nil, fail(http.StatusBadRequest, fmt.Errorf("%w: %v", ErrForm, err))
	}
	return s.eventFromForm(r.PostForm)
}

// checkPublishGrants returns nil when the token's publish matchers match
// every topic of the update, canonical and alternate alike (Mercure
// §"Publishers"), and otherwise an error wrapping auth.ErrPublishForbidden
// that names the first topic not granted.
func (s *Server) checkPublishGrants(c *auth.Claims, topics []string) error {
	grants, err := s.grantSet(c.Publish)
	if err != nil {
		return err
	}
	for _, t := range topics {
		if !grants.Match(t) {
			return fmt.Errorf("%w: topic %q is not granted", auth.ErrPublishForbidden, t)
		}
	}
	return nil
}
