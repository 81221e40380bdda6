package auth_test

import (
	"fmt"
	"time"

	"github.com/edge-sse/edge-sse/shared/auth"
)

// Example verifies a publisher token taken from a request's Authorization
// header, then shows the response a hub sends for a tampered one.
func Example() {
	secret := []byte("!ChangeThisMercureHubJWTSecretKey!")
	key, err := auth.HMACKey(secret)
	if err != nil {
		panic(err)
	}
	v, err := auth.NewVerifier(auth.Config{Keys: []auth.Key{key}, Leeway: 5 * time.Second})
	if err != nil {
		panic(err)
	}

	// A token in the shape deployed publishers (Symfony, Laravel) send.
	token, err := auth.Sign(auth.Claims{
		Form:    auth.FormLegacy,
		Publish: []auth.Matcher{{Match: "https://example.com/books/{id}"}},
	}, secret, auth.HS256, time.Hour)
	if err != nil {
		panic(err)
	}

	raw, err := auth.TokenFromRequest("Bearer "+token, "")
	if err != nil {
		panic(err)
	}
	c, err := v.Verify(raw)
	fmt.Println(err, c.Publish[0].Match, c.Publish[0].Type, c.CanPublish())

	i := len(token) - 10
	flip := map[byte]string{'A': "B"}[token[i]]
	if flip == "" {
		flip = "A"
	}
	_, err = v.Verify(token[:i] + flip + token[i+1:])
	status, header := auth.Challenge(err, "")
	fmt.Println(status, header)
	fmt.Println(err)
	// Output:
	// <nil> https://example.com/books/{id} selector <nil>
	// 401 Bearer error="invalid_token"
	// auth: access token signature does not verify: sign with the key the hub is configured with
}

// ExampleTokenFromRequest shows the precedence of the Mercure section
// "Presenting the Access Token": the Authorization header wins over cookies.
func ExampleTokenFromRequest() {
	cookies := auth.LegacyCookieName + "=from-cookie"
	fmt.Println(auth.TokenFromRequest("Bearer from-header", cookies))
	fmt.Println(auth.TokenFromRequest("", cookies))
	fmt.Println(auth.TokenFromRequest("", "session=1"))
	// Output:
	// from-header <nil>
	// from-cookie <nil>
	//  auth: no access token: send "Authorization: Bearer <token>" or the __Secure-mercure_access_token (or mercureAuthorization) cookie
}
