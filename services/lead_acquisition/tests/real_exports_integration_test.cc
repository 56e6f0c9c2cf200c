// Imports of real exports through salesctl and the real service (issue 14): the same three leads
// exported in every shape (tools/salesctl/tests/fixtures.h) import to the same leads; the dry run
// shows the mapping and the real counts and writes nothing; a file that cannot be read imports
// nothing and says which flag; the label table is configurable; MergeLeads over gRPC.
#include <filesystem>
#include <fstream>
#include <set>

#include "gmock/gmock.h"
#include "services/lead_acquisition/tests/lead_service_fixture.h"
#include "tools/salesctl/tests/fixtures.h"

namespace sales::lead_acquisition {
namespace {

using ::testing::HasSubstr;

class RealExportsIT : public LeadAcquisitionIT {
 protected:
  std::string Write(const std::string& name, const std::string& bytes) {
    std::ofstream f(dir_.File(name), std::ios::binary);
    f << bytes;
    return dir_.File(name);
  }
  size_t Events() { return testing::ReadTopic(topic_)->size(); }
};

TEST_F(RealExportsIT, EveryExportShapeImportsToTheSameLeadsAndTheDryRunWritesNothing) {
  const auto shapes = salesctl::testing::ExportShapes();
  const std::string first = Write(shapes[0].name + ".csv", shapes[0].bytes);
  auto [dry_code, dry] = Salesctl("import " + first + " --dry-run");
  EXPECT_EQ(dry_code, 0) << dry;
  EXPECT_THAT(dry, HasSubstr("Nothing is written."));
  EXPECT_THAT(dry, HasSubstr("first_name        <- \"First Name\""));
  EXPECT_THAT(dry, HasSubstr("name is first, middle and last name joined in that order"));
  EXPECT_THAT(dry, HasSubstr("not imported: \"Notes\""));
  EXPECT_THAT(dry, HasSubstr("line 2: name \"Ελένη Παππά\", company \"Παππάς & Υιοί Α.Ε.\""));
  EXPECT_THAT(dry, HasSubstr("created     3\n"));
  EXPECT_EQ(AllLeads().size(), 0u);
  EXPECT_EQ(Events(), 0u) << "a dry run appends nothing";

  for (size_t i = 0; i < shapes.size(); ++i) {
    const auto& shape = shapes[i];
    const std::string path = Write(shape.name + ".csv", shape.bytes);
    const std::string flags = shape.encoding_flag.empty() ? "" : " --encoding=" + shape.encoding_flag;
    auto [code, out] = Salesctl("import " + path + flags);
    EXPECT_EQ(code, 0) << shape.name << "\n" << out;
    EXPECT_THAT(out, HasSubstr(i == 0 ? "imported    3\n" : "duplicates  3\n")) << shape.name << "\n" << out;
  }
  auto leads = AllLeads();
  ASSERT_EQ(leads.size(), 3u);
  std::map<std::string, api::v1::Lead> by_name;
  for (auto& l : leads) by_name[l.name()] = l;
  ASSERT_EQ(by_name.size(), 3u);
  const auto& eleni = by_name.at("Ελένη Παππά");
  EXPECT_EQ(eleni.company(), "Παππάς & Υιοί Α.Ε.");
  EXPECT_EQ(eleni.source(), events::v1::LEAD_SOURCE_REFERRAL);
  EXPECT_EQ(eleni.source_label(), "partner");
  const auto& giorgos = by_name.at("Γιώργος Άνθιμος");
  EXPECT_EQ(giorgos.company(), "Άνθιμος Τεχνική Ο.Ε.");
  EXPECT_EQ(giorgos.email(), "γιωργοσ@example.gr") << "case folded (final sigma too)";
  EXPECT_EQ(giorgos.source_label(), "Google Ads - Άνοιξη");
  EXPECT_EQ(giorgos.source(), events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
  EXPECT_EQ(by_name.at("Χριστίνα Βλάχου").source(), events::v1::LEAD_SOURCE_EVENT);
}

TEST_F(RealExportsIT, AFileThatCannotBeReadImportsNothingAndSaysWhatToDo) {
  const std::string greek = Write("greek.csv", salesctl::testing::ExportShapes()[2].bytes);
  auto [code, out] = Salesctl("import " + greek);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("line 1: byte 0xC5 is not UTF-8"));
  EXPECT_THAT(out, HasSubstr("--encoding=windows-1253"));
  const std::string ragged = Write("ragged.csv", "Όνομα;Επώνυμο;Email\nΕλένη;Παππά;e@example.gr\nΝίκος;n@example.gr\n");
  std::tie(code, out) = Salesctl("import " + ragged);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("line 3: 2 fields where the header has 3"));
  EXPECT_THAT(out, HasSubstr("Nothing was imported"));
  const std::string nameless = Write("nameless.csv", "Πελάτης,Mail,Tel\nΕλένη Παππά,e@example.gr,210 555 0101\n");
  std::tie(code, out) = Salesctl("import " + nameless);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--map name=COLUMN"));
  std::tie(code, out) = Salesctl("import " + nameless + " --map name=Πελάτης --map email=mail --dry-run");
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("line 2: name \"Ελένη Παππά\", email \"e@example.gr\", phone \"210 555 0101\""));
  EXPECT_EQ(Events(), 0u);
}

TEST_F(RealExportsIT, TheLabelTableIsConfigurable) {
  std::ofstream(dir_.File("channels.txt")) << "# ours\n* = manual\nvip* = referral\n";
  service_.reset();
  Start({"--source-channels=" + dir_.File("channels.txt")});
  auto [code, out] = Salesctl("import " + Write("l.csv", "Name,Email,Source\nΆρης Κανέλλος,aris@example.gr,VIP list\n"
                                                           "Μαρίνα Σπύρου,marina@example.gr,partner\n"));
  EXPECT_EQ(code, 0) << out;
  std::map<std::string, events::v1::LeadSource> channels;
  for (const auto& l : AllLeads()) channels[l.source_label()] = l.source();
  EXPECT_EQ(channels["VIP list"], events::v1::LEAD_SOURCE_REFERRAL);
  EXPECT_EQ(channels["partner"], events::v1::LEAD_SOURCE_MANUAL) << "this table's default, not the built-in table";

  std::ofstream(dir_.File("bad.txt")) << "partner = carrier_pigeon\n";
  service_.reset();
  testing::ServiceOptions o;
  o.binary = SALES_LEAD_ACQUISITION_BIN;
  o.args = {"--kafka-bootstrap=" + testing::TestBootstrap(), "--topic-prefix=" + prefix_, "--partitions=3",
            "--data-dir=" + dir_.File("store"), "--source-channels=" + dir_.File("bad.txt")};
  o.work_dir = dir_.path();
  auto refused = testing::ServiceProcess::Start(o);
  EXPECT_FALSE(refused.ok()) << "a bad table stops the service at start-up";
}

TEST_F(RealExportsIT, MergeLeadsOverGrpc) {
  auto capture = [&](const std::string& key, const std::string& email) {
    api::v1::CaptureLeadRequest r;
    r.set_idempotency_key(key);
    r.set_name("Ελένη Παππά");
    r.set_email(email);
    r.set_source_label("newsletter");
    api::v1::CaptureLeadResponse out;
    EXPECT_TRUE(Capture(r, &out).ok());
    return out.lead_id();
  };
  const std::string a = capture("mg-1", "eleni@example.gr"), b = capture("mg-2", "e.pappa@example.gr");
  api::v1::MergeLeadsRequest m;
  m.set_idempotency_key("mg-merge");
  m.set_survivor_lead_id(a);
  m.set_merged_lead_id(b);
  api::v1::MergeLeadsResponse out;
  ::grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->MergeLeads(&ctx, m, &out).ok());
  EXPECT_EQ(out.survivor_lead_id(), a);
  EXPECT_EQ(out.survivor_version(), 2);
  api::v1::Lead merged;
  ASSERT_TRUE(Get(b, &merged).ok());
  EXPECT_EQ(merged.status(), api::v1::LEAD_STATUS_MERGED);
  EXPECT_EQ(merged.merged_into_lead_id(), a);
  EXPECT_EQ(AllLeads().size(), 1u);
  auto on_b = EventsWithKey(b);
  ASSERT_EQ(on_b.size(), 2u);
  auto e = events::Decode(on_b[1].value);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->event_type(), "lead.merged_into");
  EXPECT_EQ(e->lead().merged_into().survivor_lead_id(), a);
  // A restart rebuilds the same from the events.
  service_.reset();
  std::filesystem::remove_all(dir_.File("store"));
  Start();
  ASSERT_TRUE(Get(b, &merged).ok());
  EXPECT_EQ(merged.merged_into_lead_id(), a);
  EXPECT_EQ(AllLeads().size(), 1u);
}

}  // namespace
}  // namespace sales::lead_acquisition
