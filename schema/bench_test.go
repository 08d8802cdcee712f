package schema

import "testing"

func BenchmarkValidateSeed(b *testing.B) {
	s := testSchema(b, "seed")
	invalid := decode(b, `{"email":"foobar@ory.sh","name":{"first":"abc","last":"Barbaz"}}`)
	valid := decode(b, `{"email":"foobar@ory.sh","name":{"first":"Foobar","last":"Barbaz"}}`)
	b.Run("invalid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(s.Validate(invalid)) != 1 {
				b.Fatal("want one error")
			}
		}
	})
	b.Run("valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if s.Validate(valid) != nil {
				b.Fatal("want no error")
			}
		}
	})
}
