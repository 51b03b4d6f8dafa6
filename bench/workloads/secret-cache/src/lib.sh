greet() {
    echo "secret-cache app: $1"
}
