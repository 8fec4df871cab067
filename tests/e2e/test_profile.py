"""The profile panel in headless Chromium: name and bio, a picture, deleting the account."""

import io

from PIL import Image
from playwright.sync_api import expect


def png_file(tmp_path, size=(900, 600)):
    """A real PNG made here, larger than the 512 px the server keeps."""
    path = tmp_path / "me.png"
    image = Image.new("RGB", size, "white")
    image.paste(Image.new("RGB", (size[0] // 2, size[1]), "crimson"))
    image.save(path, "PNG")
    return path


def picture_shown(page):
    """The natural size of the picture the page shows, once it has loaded."""
    return page.evaluate(
        """() => {
          const img = document.getElementById("profile-picture");
          return img.complete && img.naturalWidth ? [img.naturalWidth, img.naturalHeight] : null;
        }"""
    )


def test_editing_the_profile_and_the_picture(server, api, open_page, tmp_path, screenshot):
    alice = api.register("alice")
    page = open_page(server.url).sign_in(alice)
    panel = page.page.locator("section.profile")
    expect(panel.locator("#profile-no-picture")).to_be_visible()

    panel.get_by_label("Display name").fill("Alice Liddell")
    panel.get_by_label("Bio").fill("Down the rabbit hole.")
    panel.get_by_role("button", name="Save profile").click()
    expect(panel.locator("#profile-status")).to_have_text("Profile saved.")
    me = api.get("/api/users/me", account=alice).json()
    assert (me["displayName"], me["bio"]) == ("Alice Liddell", "Down the rabbit hole.")

    panel.get_by_label("Picture", exact=True).set_input_files(str(png_file(tmp_path)))
    panel.get_by_role("button", name="Upload picture").click()
    expect(panel.locator("#picture-status")).to_have_text("Picture saved.")
    picture = panel.locator("#profile-picture")
    expect(picture).to_be_visible()
    url = api.get("/api/users/me", account=alice).json()["pictureUrl"]
    expect(picture).to_have_attribute("src", url)
    page.page.wait_for_function("() => document.getElementById('profile-picture').naturalWidth")
    assert picture_shown(page.page) == [512, 341]  # what the server kept, not the upload
    served = Image.open(io.BytesIO(api.get(url).content))
    assert served.format == "WEBP"
    screenshot(page.page, "profile")

    page.page.reload()  # the profile comes back from the server
    page.expect_connected()
    expect(panel.get_by_label("Display name")).to_have_value("Alice Liddell")
    expect(panel.get_by_label("Bio")).to_have_value("Down the rabbit hole.")
    expect(picture).to_have_attribute("src", url)

    panel.get_by_role("button", name="Remove picture").click()
    expect(panel.locator("#picture-status")).to_have_text("Picture removed.")
    expect(picture).to_be_hidden()
    expect(panel.locator("#profile-no-picture")).to_be_visible()
    assert api.get(f"/api/users/{alice.id}/picture").status_code == 404


def test_a_file_that_is_not_a_picture_is_refused_on_the_page(server, api, open_page, tmp_path):
    alice = api.register("alice")
    page = open_page(server.url).sign_in(alice)
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture at all")
    panel = page.page.locator("section.profile")
    panel.get_by_label("Picture", exact=True).set_input_files(str(fake))
    panel.get_by_role("button", name="Upload picture").click()
    expect(panel.locator("#picture-status")).to_contain_text("Not saved")
    expect(panel.locator("#profile-picture")).to_be_hidden()


def test_deleting_the_account_lands_on_the_sign_in_view(server, api, open_page):
    alice, bob = api.register("alice"), api.register("bob")
    api.notify(bob, alice, "before the end")
    page = open_page(server.url).sign_in(alice)
    expect(page.items).to_have_count(1)
    panel = page.page.locator("section.profile")
    panel.get_by_text("Delete my account", exact=True).first.click()  # opens the <details>

    form = panel.locator("#delete-account-form")
    form.get_by_label("Your password").fill("not-my-password")
    form.get_by_role("button", name="Delete my account").click()
    expect(form.locator("#delete-status")).to_contain_text("That is not your password.")
    assert api.get("/api/users/me", account=alice).status_code == 200

    form.get_by_label("Your password").fill(alice.password)
    form.get_by_role("button", name="Delete my account").click()
    expect(page.page.locator("#login-form")).to_be_visible()
    expect(page.login_error).to_have_text("Your account was deleted.")
    expect(page.connection).to_have_text("Signed out")
    assert api.get("/api/users/me", account=alice).status_code == 401

    page.submit_login(alice.username, alice.password)
    expect(page.login_error).to_have_text("Wrong username or password")
