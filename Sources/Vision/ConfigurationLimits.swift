import ModelArtifact

/// The documented ranges of config.json's numbers and the label sets the code is written for,
/// checked before anything is decoded, multiplied or allocated.
///
/// Why ranges at all: every number in config.json steers either memory (sizes become buffer
/// lengths: `enc_depth` 2^31 asked for a terabyte, `enc_mlp_ratio` 1e300 trapped converting to
/// Int) or what the wearer hears (a light-state temperature of 0.001 makes every frame certain; a
/// green threshold of 0.01 announces walk on frames the model calls unclear). A model exported
/// by training/lttw/artifact.py always lies well inside these ranges; a value outside them is a
/// damaged or hand-edited file, refused with the key and the allowed range.
///
/// | key | allowed |
/// | --- | --- |
/// | `architecture.image_size`, `preprocessing.input_size` | whole, 16…2048 |
/// | `architecture.patch_size` | whole, 2…64 |
/// | `architecture.enc_width`, `dec_width` | whole, 8…4096 |
/// | `architecture.enc_depth`, `dec_depth` | whole, 1…64 |
/// | `architecture.enc_heads`, `dec_heads`, `pool` | whole, 1…64 |
/// | `architecture.enc_mlp_ratio`, `dec_mlp_ratio` | 0.5…16 |
/// | `architecture.head_hidden` | whole, 1…8192 |
/// | `architecture.dec_max_len` | whole, 3…4096 |
/// | `architecture.vocab_size` | whole, 7…262144 |
/// | `architecture.ln_eps` | 1e-12…0.01 |
/// | `heads.*.size` | whole, 1…100000 |
/// | `preprocessing.mean[i]` | 0…1; `std[i]` 0.01…1 |
/// | `calibration.temperatures.*` | 0.25…8 (the grid artifact.py searches) |
/// | `thresholds.green` | 0.5…0.9999 and at least the calibrated threshold (below) |
/// | `thresholds.abstain` | 0.4…0.99 |
/// | `thresholds.crosswalk` | 0.5…0.99 |
/// | `thresholds.obstacle` | 0.05…0.95 |
///
/// The green threshold's floor is the one the model card's calibration implies:
/// `max(0.5, m + (1 − m) / 2)` with `m = calibration.stats.val_max_p_green_on_non_green` (the
/// largest calibrated p(green) on a validation frame that was not green), exactly the rule
/// artifact.py applies. A threshold below it would have announced green on a non-green
/// validation frame (or come close), so it is refused; without the statistic the threshold
/// cannot be checked and the file is refused too.
///
/// On top of the per-key ranges, `estimatedLoadBytes` bounds what the model needs in memory
/// (weights plus one stream's buffers) by `maxLoadBytes` before any of it is allocated.
public enum ConfigurationLimits {
    /// What a number must be.
    enum Kind {
        case whole
        case real
    }

    struct Rule {
        let path: [String]
        let kind: Kind
        let range: ClosedRange<Double>
        let why: String
    }

    /// Keys whose last component is `*` apply to every member of that object; `[]` to every
    /// element of that array.
    static let rules: [Rule] = [
        Rule(path: ["architecture", "image_size"], kind: .whole, range: 16...2048, why: "input pixels per side"),
        Rule(path: ["architecture", "patch_size"], kind: .whole, range: 2...64, why: "pixels per patch side"),
        Rule(path: ["architecture", "enc_width"], kind: .whole, range: 8...4096, why: "encoder width"),
        Rule(path: ["architecture", "enc_depth"], kind: .whole, range: 1...64, why: "encoder blocks"),
        Rule(path: ["architecture", "enc_heads"], kind: .whole, range: 1...64, why: "encoder attention heads"),
        Rule(path: ["architecture", "enc_mlp_ratio"], kind: .real, range: 0.5...16, why: "encoder MLP width / width"),
        Rule(path: ["architecture", "head_hidden"], kind: .whole, range: 1...8192, why: "perception-head trunk width"),
        Rule(path: ["architecture", "pool"], kind: .whole, range: 1...64, why: "patch-grid pooling for the decoder"),
        Rule(path: ["architecture", "dec_width"], kind: .whole, range: 8...4096, why: "decoder width"),
        Rule(path: ["architecture", "dec_depth"], kind: .whole, range: 1...64, why: "decoder blocks"),
        Rule(path: ["architecture", "dec_heads"], kind: .whole, range: 1...64, why: "decoder attention heads"),
        Rule(path: ["architecture", "dec_mlp_ratio"], kind: .real, range: 0.5...16, why: "decoder MLP width / width"),
        Rule(path: ["architecture", "dec_max_len"], kind: .whole, range: 3...4096, why: "caption length limit"),
        Rule(path: ["architecture", "vocab_size"], kind: .whole, range: 7...262_144, why: "tokens in the vocabulary"),
        Rule(path: ["architecture", "ln_eps"], kind: .real, range: 1e-12...0.01, why: "layer-norm epsilon"),
        Rule(path: ["format_version"], kind: .whole, range: 0...1_000_000, why: "artifact format version"),
        Rule(path: ["params"], kind: .whole, range: 0...1e12, why: "parameter count"),
        Rule(path: ["heads", "*", "size"], kind: .whole, range: 1...100_000, why: "head outputs"),
        Rule(path: ["preprocessing", "input_size"], kind: .whole, range: 16...2048, why: "input pixels per side"),
        Rule(path: ["preprocessing", "mean", "[]"], kind: .real, range: 0...1, why: "channel mean of 0…1 pixels"),
        Rule(path: ["preprocessing", "std", "[]"], kind: .real, range: 0.01...1, why: "channel std of 0…1 pixels"),
        Rule(path: ["calibration", "temperatures", "*"], kind: .real, range: 0.25...8,
             why: "calibration temperature (the range artifact.py searches)"),
        Rule(path: ["calibration", "stats", "val_max_p_green_on_non_green"], kind: .real, range: 0...1, why: "a probability"),
        Rule(path: ["thresholds", "green"], kind: .real, range: 0.5...0.9999, why: "p(green) needed before a frame may say green"),
        Rule(path: ["thresholds", "abstain"], kind: .real, range: 0.4...0.99, why: "top probability below which the light is unknown"),
        Rule(path: ["fusion", "architecture", "dec_width"], kind: .whole, range: 8...4096, why: "the fused tokens' width"),
        Rule(path: ["fusion", "architecture", "signal_tokens"], kind: .whole, range: 1...64, why: "signal candidates fused"),
        Rule(path: ["fusion", "architecture", "signal_features"], kind: .whole, range: 1...16384, why: "a fused candidate's row"),
        Rule(path: ["fusion", "architecture", "crossing_features"], kind: .whole, range: 2...64, why: "the fused crossing's inputs"),
        Rule(path: ["fusion", "architecture", "obstacle_slots"], kind: .whole, range: 1...64, why: "obstacle slots fused"),
        Rule(path: ["fusion", "architecture", "obstacle_classes"], kind: .whole, range: 2...64, why: "a fused slot's classes"),
        Rule(path: ["thresholds", "crosswalk"], kind: .real, range: 0.5...0.99, why: "p(crosswalk) needed to say one is there"),
        Rule(path: ["thresholds", "obstacle"], kind: .real, range: 0.05...0.95, why: "p(obstacle) needed to mention one"),
    ]

    /// The most memory a model may need at load: weights plus one stream's buffers. The shipped
    /// model needs ~25 MB; 2 GiB is more than a wearable board can spare for it.
    public static let maxLoadBytes = 2 << 30

    /// Checks every number of `root` that a rule covers, and the green threshold against its
    /// calibration. Types other than numbers are left to the decoder, which names them.
    static func check(_ root: JSONValue, file: String) throws(ModelConfigurationError) {
        for rule in rules {
            for (key, value) in values(at: rule.path[...], in: root, prefix: []) {
                try check(value, key: key, rule: rule, file: file)
            }
        }
        try checkGreenFloor(root, file: file)
    }

    /// The values a rule path reaches, with their dotted keys.
    private static func values(at path: ArraySlice<String>, in value: JSONValue, prefix: [String]) -> [(String, JSONValue)] {
        guard let head = path.first else { return [(prefix.joined(separator: "."), value)] }
        let rest = path.dropFirst()
        switch (head, value) {
        case ("*", .object(let members)):
            return members.flatMap { values(at: rest, in: $0.value, prefix: prefix + [$0.key]) }
        case ("[]", .array(let elements)):
            let name = prefix.joined(separator: ".")
            return elements.enumerated().flatMap { index, element in
                values(at: rest, in: element, prefix: [name + "[\(index)]"])
            }
        default:
            guard let member = value[head] else { return [] }
            return values(at: rest, in: member, prefix: prefix + [head])
        }
    }

    private static func check(_ value: JSONValue, key: String, rule: Rule, file: String) throws(ModelConfigurationError) {
        let wanted = rule.kind == .whole
            ? "a whole number from \(text(rule.range.lowerBound)) to \(text(rule.range.upperBound))"
            : "a number from \(text(rule.range.lowerBound)) to \(text(rule.range.upperBound))"
        guard case .number(let literal) = value else {
            if case .null = value, rule.path == ["params"] { return }
            throw .invalid(file, "\(key) is \(value.kindName); it must be \(wanted) (\(rule.why))")
        }
        guard let number = Double(literal), number.isFinite else {
            throw .invalid(file, "\(key) is \(literal), too large to be a number here; it must be \(wanted) (\(rule.why))")
        }
        if rule.kind == .whole, number.rounded() != number {
            throw .invalid(file, "\(key) is \(literal), not a whole number; it must be \(wanted) (\(rule.why))")
        }
        if !rule.range.contains(number) {
            throw .invalid(file, "\(key) is \(literal), out of range; it must be \(wanted) (\(rule.why))")
        }
    }

    /// The lowest green threshold the model's own calibration allows (see the type's notes).
    static func calibratedGreenFloor(maxGreenOnNonGreen m: Double) -> Double {
        min(max(0.5, m + 0.5 * (1 - m)), 0.9999)
    }

    private static func checkGreenFloor(_ root: JSONValue, file: String) throws(ModelConfigurationError) {
        guard case .number(let thresholdText)? = root["thresholds"]?["green"], let threshold = Double(thresholdText) else { return }
        guard case .number(let statText)? = root["calibration"]?["stats"]?["val_max_p_green_on_non_green"],
              let maxOnNonGreen = Double(statText)
        else {
            throw .invalid(file, "calibration.stats.val_max_p_green_on_non_green is missing, so thresholds.green cannot be checked against the model's calibration; export the model with training/lttw/artifact.py")
        }
        let floor = calibratedGreenFloor(maxGreenOnNonGreen: maxOnNonGreen)
        // artifact.py stores the threshold as a float32; allow that rounding and no more.
        if threshold < floor - 1e-6 {
            throw .invalid(file, "thresholds.green is \(thresholdText), below \(text(floor)), the threshold the model's calibration sets (calibration.stats.val_max_p_green_on_non_green = \(statText)); a lower one would announce green on frames the model was not sure of")
        }
    }

    private static func text(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }

    // MARK: Label sets

    /// The label sets the code is written for, in the order its switch statements and tables
    /// assume (training/lttw/generator.py writes the same lists). A config.json that reorders
    /// them (red and green swapped) would make the engine read the red probability as green.
    public enum KnownLabels {
        public static let lightStates = FrameLightClass.allCases.map(\.rawValue)
        public static let lightKinds = LightKind.allCases.map(\.rawValue)
        public static let positions = Position.allCases.map(\.rawValue)
        public static let distances = Distance.allCases.map(\.rawValue)
        public static let obstacleKinds = ["car", "bicycle", "scooter", "person", "pole", "bollard", "cone", "bin", "tree", "sign"]
    }

    /// Each head's labels and activation as artifact.py writes them, from the known label sets.
    static var expectedHeads: [String: (labels: [String], activation: String)] {
        let positions = KnownLabels.positions
        return [
            "light_state": (KnownLabels.lightStates, "softmax"),
            "light_kind": (KnownLabels.lightKinds, "softmax"),
            "light_position": (positions, "softmax"),
            "crosswalk": (["no", "yes"], "softmax"),
            "crosswalk_offset": (positions, "softmax"),
            "crosswalk_heading": (["heading_deg/30"], "identity"),
            "obstacles": (positions.flatMap { p in KnownLabels.obstacleKinds.map { "\(p):\($0)" } }, "sigmoid"),
            "obstacle_distance": (positions.flatMap { p in KnownLabels.distances.map { "\(p):\($0)" } }, "softmax per position (groups of 3)"),
        ]
    }

    /// The heads whose probabilities are calibrated with a temperature (all but the heading).
    static let calibratedHeads: Set<String> = [
        "light_state", "light_kind", "light_position", "crosswalk", "crosswalk_offset", "obstacles", "obstacle_distance",
    ]

    static func checkLabels(_ c: ModelConfiguration, file: String) throws(ModelConfigurationError) {
        func same(_ key: String, _ found: [String], _ known: [String]) throws(ModelConfigurationError) {
            if found == known { return }
            let detail = Set(found) == Set(known) && found.count == known.count
                ? "the same labels in a different order"
                : "different labels"
            throw .invalid(file, "\(key) is \(found), but this program is written for \(known) (\(detail)); the model was trained for other classes or the file was edited")
        }
        try same("light_states", c.lightStates, KnownLabels.lightStates)
        try same("light_kinds", c.lightKinds, KnownLabels.lightKinds)
        try same("positions", c.positions, KnownLabels.positions)
        try same("distances", c.distances, KnownLabels.distances)
        try same("obstacle_kinds", c.obstacleKinds, KnownLabels.obstacleKinds)
        for (name, expected) in expectedHeads.sorted(by: { $0.key < $1.key }) {
            guard let head = c.heads[name] else { throw .invalid(file, "head \"\(name)\" is missing") }
            try same("heads.\(name).labels", head.labels, expected.labels)
            if head.activation != expected.activation {
                throw .invalid(file, "heads.\(name).activation is \"\(head.activation)\", but this program applies \"\(expected.activation)\"")
            }
        }
        let extra = Set(c.heads.keys).subtracting(expectedHeads.keys)
        if !extra.isEmpty {
            throw .invalid(file, "heads \(extra.sorted()) are not heads this program reads")
        }
        let temperatures = Set(c.calibration.temperatures.keys)
        if temperatures != calibratedHeads {
            let missing = calibratedHeads.subtracting(temperatures).sorted()
            let unknown = temperatures.subtracting(calibratedHeads).sorted()
            throw .invalid(file, "calibration.temperatures must give exactly one temperature per calibrated head"
                + (missing.isEmpty ? "" : "; missing: \(missing.joined(separator: ", "))")
                + (unknown.isEmpty ? "" : "; not heads: \(unknown.joined(separator: ", "))"))
        }
    }

    // MARK: Memory

    /// An upper estimate, in bytes, of the weights plus one stream's buffers (one beam), with
    /// every product checked for overflow; nil when it does not fit in an Int. Called after the
    /// per-key ranges and the divisibility checks, before any layer is built.
    public static func estimatedLoadBytes(_ c: ModelConfiguration) -> Int? {
        let a = c.architecture
        var total = 0
        var overflow = false
        func add(_ factors: Int...) {
            var product = 1
            for factor in factors {
                let (next, o) = product.multipliedReportingOverflow(by: factor)
                overflow = overflow || o
                product = next
            }
            let (sum, o) = total.addingReportingOverflow(product)
            overflow = overflow || o
            total = sum
        }
        let tokens = a.encoderTokens, width = a.encWidth, mlp = a.encMlpWidth
        // Encoder weights: patch embedding, positions, per block attention (4 w²) and MLP (2 w·m).
        add(3, a.patchSize, a.patchSize, width)
        add(tokens, width)
        add(a.encDepth, 4, width, width)
        add(a.encDepth, 2, width, mlp)
        // Encoder activations: the residual stream and its copies, the MLP, attention scores.
        add(8, tokens, width)
        add(tokens, mlp)
        add(a.encHeads, tokens, tokens)
        // Heads: trunk and outputs.
        add(width, a.headFeatureParts, a.headHidden)
        add(a.headHidden, c.heads.values.reduce(0) { $0 + $1.size })
        // Projector and decoder: weights (self and cross attention, MLP, embeddings, positions)…
        let dec = a.decWidth, decMlp = a.decMlpWidth, memory = c.decoderMemoryTokens
        add(width, dec)
        add(a.decDepth, 8, dec, dec)
        add(a.decDepth, 2, dec, decMlp)
        add(a.vocabSize, dec)
        add(a.decMaxLen, dec)
        // The experts' fusion (the rules bound its sizes): its MLPs' weights, places and scratch…
        if let f = c.fusion?.architecture {
            add(f.signalFeatures + f.crossingFeatures + 2 * f.obstacleClasses + 3 * dec + 2 * (f.signalTokens + f.obstacleSlots + 2), dec)
        }
        // …and the caches: self-attention keys and values per position, cross-attention per memory token.
        add(a.decDepth, 2, a.decMaxLen, dec)
        add(a.decDepth, 2, memory, dec)
        add(8, a.decMaxLen, dec)
        add(a.decMaxLen, decMlp)
        add(a.decHeads, a.decMaxLen, a.decMaxLen + memory)
        add(a.vocabSize)
        let (bytes, o) = total.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        return overflow || o ? nil : bytes
    }

    static func checkMemory(_ c: ModelConfiguration, file: String) throws(ModelConfigurationError) {
        guard let bytes = estimatedLoadBytes(c), bytes <= maxLoadBytes else {
            let size = estimatedLoadBytes(c).map { "about \($0 >> 20) MiB" } ?? "more memory than can be counted"
            throw .invalid(file, "the architecture needs \(size) for its weights and one stream's buffers, over the \(maxLoadBytes >> 20) MiB limit; the sizes in architecture are not a model this program can run")
        }
    }
}
