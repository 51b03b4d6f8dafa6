// The builder lands here: see ARCHITECTURE.md, "KilnBuilder".
