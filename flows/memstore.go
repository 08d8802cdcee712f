package flows

// MemoryStore is the embedded in-memory Store. STUB.
type MemoryStore struct{ Store }

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }
