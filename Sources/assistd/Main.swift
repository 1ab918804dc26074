@main
enum AssistDaemon {
    static func main() {}
}
